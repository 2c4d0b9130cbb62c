#include <gtest/gtest.h>

#include "secprof/yamlio/reader.h"

namespace secprof::yamlio {
namespace {

TEST(YamlioTest, ReadsTypedFields) {
  auto doc = Parse("m.yaml", "name: home\ncount: 12\nratio: 0.5\non: true\ntags: [a, b]\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  Node r = doc->root();
  ASSERT_TRUE(r.CheckKeys({"name", "count", "ratio", "on", "tags"}));
  EXPECT_EQ(*r.RequiredString("name"), "home");
  EXPECT_EQ(*r.RequiredInt("count"), 12);
  EXPECT_DOUBLE_EQ(*r.OptionalDouble("ratio", 0), 0.5);
  EXPECT_TRUE(*r.OptionalBool("on", false));
  EXPECT_EQ(r.OptionalStringList("tags")->size(), 2u);
  EXPECT_EQ(*r.OptionalInt("absent", 7), 7);
}

TEST(YamlioTest, UnknownKeyIsLocated) {
  auto doc = Parse("m.yaml", "name: x\nthings:\n  - id: a\n    colour: red\n");
  ASSERT_TRUE(doc);
  auto things = doc->root().Required("things");
  ASSERT_TRUE(things);
  auto items = things->Items();
  ASSERT_TRUE(items);
  auto st = (*items)[0].CheckKeys({"id"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().ToString(),
            "m.yaml:4:5: field 'things[0].colour': unknown key 'colour' (allowed: id)");
}

TEST(YamlioTest, DuplicateKeyIsRejected) {
  auto doc = Parse("d.yaml", "a: 1\na: 2\n");
  if (!doc) {
    // yaml-cpp may refuse duplicates itself; either way it is an located error.
    EXPECT_EQ(doc.error().where()->file, "d.yaml");
    return;
  }
  auto st = doc->root().CheckKeys({"a"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("appears twice"), std::string::npos);
  EXPECT_EQ(st.error().where()->line, 2);
}

TEST(YamlioTest, WrongTypeNamesExpectation) {
  auto doc = Parse("t.yaml", "count: many\nlist: {a: 1}\n");
  ASSERT_TRUE(doc);
  auto c = doc->root().RequiredInt("count");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().ToString(), "t.yaml:1:8: field 'count': expected an integer, found 'many'");
  auto l = doc->root().OptionalStringList("list");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("expected a list"), std::string::npos);
}

TEST(YamlioTest, EnumListsChoices) {
  auto doc = Parse("e.yaml", "central: cloud\n");
  ASSERT_TRUE(doc);
  auto v = doc->root().RequiredEnum("central", {"none", "local", "backend"});
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("none, local, backend"), std::string::npos);
}

TEST(YamlioTest, SyntaxErrorIsLocated) {
  auto doc = Parse("s.yaml", "a: [1, 2\nb: 3\n");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().where()->file, "s.yaml");
  EXPECT_GT(doc.error().where()->line, 0);
}

TEST(YamlioTest, DeepNestingIsRefused) {
  // Over our limit (64) but within yaml-cpp's: refused by our depth check.
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto doc = Parse("n.yaml", deep);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), ErrorCode::kLimit);
  EXPECT_TRUE(doc.error().Is(kTooDeep));
  // Far deeper: yaml-cpp's recursion guard fires first; still a clear limit error, no crash.
  std::string deeper(20000, '[');
  deeper += std::string(20000, ']');
  doc = Parse("n.yaml", deeper);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), ErrorCode::kLimit);
  EXPECT_NE(doc.error().message().find("nests too deeply"), std::string::npos);
}

// The "billion laughs" alias bomb: 9 levels of 9 aliases, 401 bytes that expand to 9^9 (387
// million) strings. yaml-cpp's YAML::Load builds it instantly as a shared graph, and then any walk
// over it visits every expanded node; Parse() refuses it while reading, counting each alias by
// the size of what it names.
std::string AliasBomb() {
  std::string y = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  const char* names = "abcdefghi";
  for (int level = 1; level < 9; ++level) {
    const std::string prev(1, names[level - 1]), cur(1, names[level]);
    y += cur + ": &" + cur + " [";
    for (int k = 0; k < 9; ++k) y += (k ? ",*" : "*") + prev;
    y += "]\n";
  }
  return y;
}

TEST(YamlioTest, AliasBombIsRefusedWhileReading) {
  const std::string bomb = AliasBomb();
  EXPECT_LE(bomb.size(), 401u);
  auto doc = Parse("bomb.yaml", bomb);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), ErrorCode::kLimit);
  EXPECT_TRUE(doc.error().Is(kTooManyNodes)) << doc.error().ToString();
  ASSERT_TRUE(doc.error().where());
  EXPECT_EQ(doc.error().where()->file, "bomb.yaml");
  EXPECT_GT(doc.error().where()->line, 1);  // at the alias that crossed the limit
  EXPECT_NE(doc.error().message().find("aliases expanded"), std::string::npos);
}

TEST(YamlioTest, AliasesCountByWhatTheyExpandTo) {
  // Written: 1 map + 2 keys + (1 list + 3 items) = 7 nodes; the alias stands for the 4 nodes of
  // the list, so 11 expanded.
  const std::string text = "a: &x [1, 2, 3]\nb: *x\n";
  auto doc = Parse("a.yaml", text);
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(doc->node_count(), 7u);  // the alias is not copied
  EXPECT_EQ(doc->expanded_node_count(), 11u);
  // The legitimate use of an alias reads like the node it names.
  auto b = doc->root().OptionalStringList("b");
  ASSERT_TRUE(b) << b.error().ToString();
  EXPECT_EQ(*b, (std::vector<std::string>{"1", "2", "3"}));
  // At the limit passes, one node over is refused.
  Limits limits;
  limits.max_nodes = 11;
  EXPECT_TRUE(Parse("a.yaml", text, limits));
  limits.max_nodes = 10;
  auto refused = Parse("a.yaml", text, limits);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().Is(kTooManyNodes));
  EXPECT_EQ(refused.error().where()->line, 2);
}

TEST(YamlioTest, AliasInsideItsOwnAnchorIsRefused) {
  // yaml-cpp's YAML::Load makes this a cycle; a walk over it never ends.
  auto doc = Parse("c.yaml", "a: &x [1, *x]\n");
  ASSERT_FALSE(doc);
  EXPECT_TRUE(doc.error().Is(kBadAlias)) << doc.error().ToString();
  EXPECT_EQ(doc.error().where()->line, 1);
  EXPECT_NE(doc.error().message().find("*x"), std::string::npos);
}

TEST(YamlioTest, AliasCannotSmuggleDepth) {
  // Each anchor is 40 levels deep, well within the limit of 64; placing one inside the other
  // makes the expanded document 80 deep.
  std::string deep40 = std::string(40, '[') + "1" + std::string(40, ']');
  auto ok = Parse("d.yaml", "a: &x " + deep40 + "\n");
  ASSERT_TRUE(ok) << ok.error().ToString();
  auto doc = Parse("d.yaml", "a: &x " + deep40 + "\nb: " + std::string(40, '[') + "*x" +
                                 std::string(40, ']') + "\n");
  ASSERT_FALSE(doc);
  EXPECT_TRUE(doc.error().Is(kTooDeep)) << doc.error().ToString();
}

TEST(YamlioTest, InvalidUtf8IsRefusedWithLineAndColumn) {
  // A lone continuation byte in the third line, sixth byte.
  auto doc = Parse("u.yaml",
                   "name: ok\nthings:\n  - id: a\x80"
                   "b\n");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(doc.error().Is(kInvalidUtf8));
  EXPECT_EQ(doc.error().where()->line, 3);
  EXPECT_EQ(doc.error().where()->column, 10);
  EXPECT_NE(doc.error().message().find("0x80"), std::string::npos);
  // Overlong, surrogate, beyond U+10FFFF, truncated, a UTF-16 byte-order mark: each refused.
  for (const std::string bad :
       {"a: \xC0\xAF\n", "a: \xED\xA0\x80\n", "a: \xF4\x90\x80\x80\n", "a: \xE2\x82\n",
        "\xFF\xFE"
        "a"}) {
    auto d = Parse("u.yaml", bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_TRUE(d.error().Is(kInvalidUtf8)) << d.error().ToString();
    EXPECT_EQ(d.error().where()->line, 1);
  }
  // The first byte of a file.
  auto first = Parse("u.yaml",
                     "\x80"
                     "a: 1\n");
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().where()->column, 1);
}

TEST(YamlioTest, ControlCharactersAreRefusedRawAndEscaped) {
  auto raw = Parse("c.yaml", "a: x\x01y\n");
  ASSERT_FALSE(raw);
  EXPECT_TRUE(raw.error().Is(kInvalidUtf8));
  EXPECT_EQ(raw.error().where()->column, 5);
  // The same character through a double-quoted escape, located at the value.
  auto escaped = Parse("c.yaml", "a: 1\nb: \"x\\x01y\"\n");
  ASSERT_FALSE(escaped);
  EXPECT_TRUE(escaped.error().Is(kInvalidUtf8)) << escaped.error().ToString();
  EXPECT_EQ(escaped.error().where()->line, 2);
}

TEST(YamlioTest, ValidUtf8AndEscapesAreRead) {
  // Two-, three- and four-byte characters, a tab, and escapes that yield printable text.
  auto doc =
      Parse("v.yaml", "a: \"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA1\tx\"\nb: \"\\u00e9\\x41\"\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(*doc->root().RequiredString("a"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xA1\tx");
  EXPECT_EQ(*doc->root().RequiredString("b"),
            "\xC3\xA9"
            "A");
}

TEST(YamlioTest, EmptyDocumentIsNull) {
  auto doc = Parse("e.yaml", "");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->root().IsNull());
  EXPECT_FALSE(doc->root().IsMap());
}

TEST(YamlioTest, OversizeIsRefusedBeforeParsing) {
  Limits limits;
  limits.max_bytes = 8;
  auto doc = Parse("o.yaml", "name: too long\n", limits);
  ASSERT_FALSE(doc);
  EXPECT_TRUE(doc.error().Is(kTooLarge));
}

// Columns count bytes (libyaml counts characters; the reader converts), on lines before and
// after other non-ASCII lines, and after a UTF-8 byte-order mark (not counted).
TEST(YamlioTest, ColumnsCountBytesAfterNonAsciiText) {
  auto doc = Parse("b.yaml",
                   "a: {x: \"\xC3\xA9\", yy: 1}\n"
                   "b: {\xE2\x82\xAC: 1, zz: 2}\n"
                   "c: {w: 1, vv: 2}\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  auto a = doc->root().Required("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->CheckKeys({"x"}).error().ToString(),
            "b.yaml:1:14: field 'a.yy': unknown key 'yy' (allowed: x)");
  auto b = doc->root().Required("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->CheckKeys({"\xE2\x82\xAC"}).error().ToString(),
            "b.yaml:2:13: field 'b.zz': unknown key 'zz' (allowed: \xE2\x82\xAC)");
  auto c = doc->root().Required("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->CheckKeys({"w"}).error().ToString(),
            "b.yaml:3:11: field 'c.vv': unknown key 'vv' (allowed: w)");
  auto bom = Parse("m.yaml",
                   "\xEF\xBB\xBF"
                   "a: {\xC3\xA9: 1, zz: 2}\n");
  ASSERT_TRUE(bom) << bom.error().ToString();
  EXPECT_EQ(bom->root().Required("a")->CheckKeys({"\xC3\xA9"}).error().where()->column, 12);
}

TEST(YamlioTest, CrLfLinesAreCounted) {
  auto doc = Parse("r.yaml", "a: 1\r\nb: {c: 2}\r\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  auto st = doc->root().Required("b")->CheckKeys({"d"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().where()->line, 2);
  EXPECT_EQ(st.error().where()->column, 5);
}

// What reads as null: YAML's null spellings and empty nodes, untagged and plain; a quoted or
// tagged value is a string.
TEST(YamlioTest, NullsAsYamlSpellsThem) {
  auto doc = Parse("n.yaml", "a: ~\nb: null\nc: \"null\"\nd: !!str\ne:\nf: NULL\ng: nul\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  Node r = doc->root();
  EXPECT_TRUE(r.Get("a")->IsNull());
  EXPECT_TRUE(r.Get("b")->IsNull());
  EXPECT_EQ(*r.Get("c")->AsString(), "null");
  ASSERT_TRUE(r.Get("d")->IsScalar());
  EXPECT_EQ(*r.Get("d")->AsString(), "");
  EXPECT_TRUE(r.Get("e")->IsNull());
  EXPECT_TRUE(r.Get("f")->IsNull());
  EXPECT_EQ(*r.Get("g")->AsString(), "nul");
}

TEST(YamlioTest, OnlyTheFirstDocumentIsRead) {
  auto doc = Parse("d.yaml", "---\na: 1\n---\nb: 2\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_TRUE(doc->root().Get("a"));
  EXPECT_FALSE(doc->root().Get("b"));
}

TEST(YamlioTest, AliasNamesTheLatestAnchorAndMustExist) {
  auto doc = Parse("a.yaml", "a: &x 1\nb: &x [2, 3]\nc: *x\n");
  ASSERT_TRUE(doc) << doc.error().ToString();
  EXPECT_EQ(*doc->root().OptionalStringList("c"), (std::vector<std::string>{"2", "3"}));
  auto undefined = Parse("a.yaml", "a: 1\nb: *nope\n");
  ASSERT_FALSE(undefined);
  EXPECT_EQ(undefined.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(undefined.error().message().find("anchor is not defined"), std::string::npos);
  EXPECT_EQ(undefined.error().where()->line, 2);
  EXPECT_EQ(undefined.error().where()->column, 4);
}

}  // namespace
}  // namespace secprof::yamlio
