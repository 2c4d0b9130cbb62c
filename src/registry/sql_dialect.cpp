// SQLite's SQL -> PostgreSQL's (sql_dialect.h has the rules). A small tokenizer (literals,
// identifiers, numbers, parameters, punctuation) and rewrites on its tokens: nothing here parses
// SQL beyond the constructs the rules name, and a schema statement no rule covers is refused.
#include "sql_dialect.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace secprof::registry::internal {
namespace {

enum class Kind { kSpace, kComment, kString, kQuoted, kBlob, kWord, kNumber, kParam, kPunct };

struct Token {
  Kind kind;
  std::string text;  // as written (kBlob: the hex digits only)
  int param = 0;     // kParam: the explicit number, 0 for a bare '?'
};

bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsWord(const Token& t, std::string_view upper_word) {
  return t.kind == Kind::kWord && Upper(t.text) == upper_word;
}
bool IsPunct(const Token& t, char c) { return t.kind == Kind::kPunct && t.text[0] == c; }
bool Significant(const Token& t) { return t.kind != Kind::kSpace && t.kind != Kind::kComment; }

// Reads a literal closed by `quote` (doubled inside) starting at sql[i] == quote; returns its end.
Result<size_t> LiteralEnd(std::string_view sql, size_t i, char quote) {
  for (size_t j = i + 1; j < sql.size(); ++j) {
    if (sql[j] != quote) continue;
    if (j + 1 < sql.size() && sql[j + 1] == quote) {
      ++j;
      continue;
    }
    return j + 1;
  }
  return Fail(ErrorCode::kInvalidInput, "unterminated literal in SQL: " + std::string(sql));
}

Result<std::vector<Token>> Tokenize(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    size_t end = i + 1;
    Token t{Kind::kPunct, "", 0};
    if (std::isspace(static_cast<unsigned char>(c))) {
      while (end < sql.size() && std::isspace(static_cast<unsigned char>(sql[end]))) ++end;
      t.kind = Kind::kSpace;
    } else if (sql.substr(i, 2) == "--") {
      end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      t.kind = Kind::kComment;
    } else if (sql.substr(i, 2) == "/*") {
      end = sql.find("*/", i + 2);
      if (end == std::string_view::npos)
        return Fail(ErrorCode::kInvalidInput, "unterminated comment in SQL");
      end += 2;
      t.kind = Kind::kComment;
    } else if (c == '\'' || c == '"') {
      SECPROF_ASSIGN_OR_RETURN(end, LiteralEnd(sql, i, c));
      t.kind = c == '\'' ? Kind::kString : Kind::kQuoted;
    } else if ((c == 'x' || c == 'X') && i + 1 < sql.size() && sql[i + 1] == '\'' &&
               (out.empty() || out.back().kind != Kind::kWord)) {
      SECPROF_ASSIGN_OR_RETURN(end, LiteralEnd(sql, i + 1, '\''));
      out.push_back({Kind::kBlob, std::string(sql.substr(i + 2, end - i - 3)), 0});
      i = end;
      continue;
    } else if (IsWordStart(c)) {
      while (end < sql.size() && IsWordChar(sql[end])) ++end;
      t.kind = Kind::kWord;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (end < sql.size() &&
             (std::isdigit(static_cast<unsigned char>(sql[end])) || sql[end] == '.'))
        ++end;
      t.kind = Kind::kNumber;
    } else if (c == '?') {
      int n = 0;
      while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) {
        n = n * 10 + (sql[end] - '0');
        if (n > 999) return Fail(ErrorCode::kInvalidInput, "SQL parameter number over 999");
        ++end;
      }
      if (end > i + 1 && n == 0) return Fail(ErrorCode::kInvalidInput, "SQL parameter ?0");
      t.kind = Kind::kParam;
      t.param = n;
    }
    t.text = std::string(sql.substr(i, end - i));
    out.push_back(std::move(t));
    i = end;
  }
  return out;
}

std::string Join(const std::vector<Token>& tokens) {
  std::string s;
  for (const Token& t : tokens) s += t.text;
  return s;
}

// The statement's text without leading and trailing white space.
std::string Trimmed(const std::vector<Token>& tokens) {
  std::string s = Join(tokens);
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::string BlobLiteral(const std::string& hex) { return "decode('" + hex + "', 'hex')"; }

// Index of the next significant token at or after i (tokens.size() when none).
size_t NextSig(const std::vector<Token>& tokens, size_t i) {
  while (i < tokens.size() && !Significant(tokens[i])) ++i;
  return i;
}

}  // namespace

Result<PgStatement> TranslateStatement(std::string_view sqlite_sql, const RowidColumns& rowid) {
  SECPROF_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(sqlite_sql));
  PgStatement out;
  auto number = [&](const Token& t) {
    const int n = t.param != 0 ? t.param : out.parameters + 1;
    out.parameters = std::max(out.parameters, n);
    return "$" + std::to_string(n);
  };
  bool has_returning = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    has_returning = has_returning || IsWord(t, "RETURNING");
    if (t.kind == Kind::kParam) {
      out.sql += number(t);
    } else if (t.kind == Kind::kBlob) {
      out.sql += BlobLiteral(t.text);
    } else if (IsWord(t, "LIMIT") || IsWord(t, "OFFSET")) {
      const bool limit = IsWord(t, "LIMIT");
      out.sql += t.text;
      const size_t j = NextSig(tokens, i + 1);
      if (j < tokens.size() && tokens[j].kind == Kind::kParam) {
        const std::string p = "CAST(" + number(tokens[j]) + " AS BIGINT)";
        out.sql +=
            limit ? " CASE WHEN " + p + " >= 0 THEN " + p + " END" : " GREATEST(" + p + ", 0)";
        i = j;
      } else if (limit && j + 1 < tokens.size() && IsPunct(tokens[j], '-') &&
                 tokens[j + 1].kind == Kind::kNumber) {
        out.sql += " ALL";
        i = j + 1;
      }
    } else {
      out.sql += t.text;
    }
  }
  // INSERT INTO <table>: report the rowid column, as sqlite3_last_insert_rowid would.
  const size_t a = NextSig(tokens, 0);
  const size_t b = a < tokens.size() ? NextSig(tokens, a + 1) : tokens.size();
  const size_t c = b < tokens.size() ? NextSig(tokens, b + 1) : tokens.size();
  if (c < tokens.size() && IsWord(tokens[a], "INSERT") && IsWord(tokens[b], "INTO") &&
      tokens[c].kind == Kind::kWord && !has_returning) {
    auto it = rowid.find(tokens[c].text);
    if (it != rowid.end()) {
      out.returning = it->second;
      out.sql += " RETURNING " + it->second;
    }
  }
  return out;
}

namespace {

using Tokens = std::vector<Token>;

tl::unexpected<Error> Unsupported(std::string_view what, const Tokens& stmt) {
  return Fail(ErrorCode::kInternal,
              "no PostgreSQL translation for " + std::string(what) + ": " + Join(stmt));
}

// Positions of the significant tokens.
std::vector<size_t> SigIndex(const Tokens& tokens) {
  std::vector<size_t> s;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (Significant(tokens[i])) s.push_back(i);
  return s;
}

void TranslateBlobs(Tokens& tokens) {
  for (Token& t : tokens)
    if (t.kind == Kind::kBlob) t = {Kind::kWord, BlobLiteral(t.text), 0};
}

// One column definition or table constraint of CREATE TABLE (tokens[begin, end)), rewritten in
// place. A REFERENCES clause is blanked out and returned as "ALTER TABLE ..." text.
Result<std::optional<std::string>> TranslateElement(Tokens& tokens, size_t begin, size_t end,
                                                    const std::string& table, bool without_rowid,
                                                    RowidColumns& rowid) {
  std::vector<size_t> sig;
  for (size_t i = begin; i < end; ++i)
    if (Significant(tokens[i])) sig.push_back(i);
  if (sig.empty()) return Fail(ErrorCode::kInternal, "empty column in CREATE TABLE " + table);
  const std::string first = Upper(tokens[sig[0]].text);
  if (first == "PRIMARY" || first == "UNIQUE" || first == "CHECK" || first == "FOREIGN" ||
      first == "CONSTRAINT")
    return std::optional<std::string>();
  if (sig.size() < 2 || tokens[sig[1]].kind != Kind::kWord)
    return Fail(ErrorCode::kInternal, "column without a type in CREATE TABLE " + table);
  const std::string column = tokens[sig[0]].text;
  Token& type = tokens[sig[1]];
  const std::string declared = Upper(type.text);
  bool primary_key = false;
  for (size_t k = 2; k + 1 < sig.size(); ++k)
    primary_key =
        primary_key || (IsWord(tokens[sig[k]], "PRIMARY") && IsWord(tokens[sig[k + 1]], "KEY"));
  if (declared == "INTEGER" && primary_key && !without_rowid) {
    type.text = "BIGINT GENERATED BY DEFAULT AS IDENTITY";
    rowid[table] = column;
  } else if (declared == "INTEGER") {
    type.text = "BIGINT";
  } else if (declared == "TEXT") {
    type.text = "TEXT COLLATE \"C\"";
  } else if (declared == "BLOB") {
    type.text = "BYTEA";
  } else {
    return Fail(ErrorCode::kInternal, "column type " + type.text + " in CREATE TABLE " + table);
  }
  // REFERENCES t ( c ) { ON DELETE|UPDATE action }
  for (size_t k = 2; k < sig.size(); ++k) {
    if (!IsWord(tokens[sig[k]], "REFERENCES")) continue;
    size_t m = k + 1;  // the referenced table
    if (m + 1 >= sig.size() || !IsPunct(tokens[sig[m + 1]], '('))
      return Fail(ErrorCode::kInternal, "REFERENCES without (column) in " + table);
    while (m < sig.size() && !IsPunct(tokens[sig[m]], ')')) ++m;
    if (m == sig.size()) return Fail(ErrorCode::kInternal, "unclosed REFERENCES in " + table);
    ++m;
    while (m < sig.size() && IsWord(tokens[sig[m]], "ON")) {
      m += 2;  // ON DELETE|UPDATE
      if (m < sig.size() && (IsWord(tokens[sig[m]], "SET") || IsWord(tokens[sig[m]], "NO"))) ++m;
      ++m;  // CASCADE | RESTRICT | NULL | DEFAULT | ACTION
    }
    if (m > sig.size()) return Fail(ErrorCode::kInternal, "truncated REFERENCES in " + table);
    const size_t from = sig[k];
    const size_t to = m < sig.size() ? sig[m] : end;
    std::string clause;
    for (size_t i = from; i < to; ++i) {
      clause += tokens[i].kind == Kind::kSpace ? " " : tokens[i].text;
      tokens[i].text.clear();
    }
    while (!clause.empty() && clause.back() == ' ') clause.pop_back();
    return std::optional<std::string>("ALTER TABLE " + table + " ADD FOREIGN KEY (" + column +
                                      ") " + clause);
  }
  return std::optional<std::string>();
}

Status TranslateCreateTable(Tokens& stmt, PgSchema& out, std::vector<std::string>& alters) {
  const std::vector<size_t> sig = SigIndex(stmt);
  if (sig.size() < 4 || stmt[sig[2]].kind != Kind::kWord || !IsPunct(stmt[sig[3]], '('))
    return Unsupported("CREATE TABLE", stmt);
  const std::string table = stmt[sig[2]].text;
  // The body's closing parenthesis, and top-level commas in it.
  int depth = 0;
  size_t close = 0;
  std::vector<size_t> commas;
  for (size_t i = sig[3]; i < stmt.size() && close == 0; ++i) {
    if (IsPunct(stmt[i], '(')) ++depth;
    if (IsPunct(stmt[i], ')') && --depth == 0) close = i;
    if (IsPunct(stmt[i], ',') && depth == 1) commas.push_back(i);
  }
  if (close == 0) return Unsupported("CREATE TABLE (unclosed)", stmt);
  // After the body: nothing, or WITHOUT ROWID (dropped).
  std::vector<size_t> tail;
  for (size_t i = close + 1; i < stmt.size(); ++i)
    if (Significant(stmt[i])) tail.push_back(i);
  const bool without_rowid =
      tail.size() == 2 && IsWord(stmt[tail[0]], "WITHOUT") && IsWord(stmt[tail[1]], "ROWID");
  if (!tail.empty() && !without_rowid) return Unsupported("CREATE TABLE options", stmt);
  for (size_t i : tail) stmt[i].text.clear();
  size_t begin = sig[3] + 1;
  commas.push_back(close);
  for (size_t comma : commas) {
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> alter,
                             TranslateElement(stmt, begin, comma, table, without_rowid, out.rowid));
    if (alter) alters.push_back(std::move(*alter));
    begin = comma + 1;
  }
  TranslateBlobs(stmt);
  out.tables.push_back(table);
  out.sql += Trimmed(stmt) + ";\n";
  return Ok();
}

// CREATE TRIGGER n BEFORE|AFTER op ON t BEGIN SELECT RAISE ( ABORT , 'msg' ) ; END
Status TranslateTrigger(const Tokens& stmt, PgSchema& out) {
  const std::vector<size_t> s = SigIndex(stmt);
  auto at = [&](size_t k) -> const Token& { return stmt[s[k]]; };
  const bool ok = s.size() == 17 && at(2).kind == Kind::kWord &&
                  (IsWord(at(3), "BEFORE") || IsWord(at(3), "AFTER")) &&
                  (IsWord(at(4), "INSERT") || IsWord(at(4), "UPDATE") || IsWord(at(4), "DELETE")) &&
                  IsWord(at(5), "ON") && at(6).kind == Kind::kWord && IsWord(at(7), "BEGIN") &&
                  IsWord(at(8), "SELECT") && IsWord(at(9), "RAISE") && IsPunct(at(10), '(') &&
                  IsWord(at(11), "ABORT") && IsPunct(at(12), ',') && at(13).kind == Kind::kString &&
                  IsPunct(at(14), ')') && IsPunct(at(15), ';') && IsWord(at(16), "END");
  if (!ok) return Unsupported("CREATE TRIGGER", stmt);
  const std::string name = at(2).text, when = Upper(at(3).text), op = Upper(at(4).text),
                    table = at(6).text;
  out.sql += "CREATE FUNCTION " + name +
             "() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN RAISE EXCEPTION USING ERRCODE = "
             "'23000', MESSAGE = " +
             at(13).text + "; END $fn$;\n";
  out.sql += "CREATE TRIGGER " + name + " " + when + " " + op + " ON " + table +
             " FOR EACH ROW EXECUTE FUNCTION " + name + "();\n";
  if (op == "DELETE") {
    out.sql += "CREATE TRIGGER " + name + "_truncate " + when + " TRUNCATE ON " + table +
               " FOR EACH STATEMENT EXECUTE FUNCTION " + name + "();\n";
  }
  return Ok();
}

}  // namespace

Result<PgSchema> TranslateSchema(std::string_view sqlite_ddl) {
  SECPROF_ASSIGN_OR_RETURN(Tokens tokens, Tokenize(sqlite_ddl));
  // Statements end at ';', except inside a trigger's BEGIN ... END.
  std::vector<Tokens> statements(1);
  for (const Token& t : tokens) {
    Tokens& cur = statements.back();
    cur.push_back(t);
    if (!IsPunct(t, ';')) continue;
    const std::vector<size_t> s = SigIndex(cur);
    const bool trigger =
        s.size() >= 2 && IsWord(cur[s[0]], "CREATE") && IsWord(cur[s[1]], "TRIGGER");
    const bool ended = s.size() >= 2 && IsWord(cur[s[s.size() - 2]], "END");
    if (trigger && !ended) continue;
    cur.pop_back();  // the ';'
    statements.emplace_back();
  }
  PgSchema out;
  std::vector<std::string> alters;
  for (Tokens& stmt : statements) {
    const std::vector<size_t> s = SigIndex(stmt);
    if (s.empty()) continue;
    auto word = [&](size_t k) { return k < s.size() ? Upper(stmt[s[k]].text) : std::string(); };
    if (word(0) == "PRAGMA") continue;
    if (word(0) != "CREATE") return Unsupported("statement", stmt);
    if (word(1) == "TABLE") {
      SECPROF_TRY(TranslateCreateTable(stmt, out, alters));
    } else if (word(1) == "INDEX" || (word(1) == "UNIQUE" && word(2) == "INDEX")) {
      TranslateBlobs(stmt);
      out.sql += Trimmed(stmt) + ";\n";
    } else if (word(1) == "TRIGGER") {
      SECPROF_TRY(TranslateTrigger(stmt, out));
    } else {
      return Unsupported("statement", stmt);
    }
  }
  for (const std::string& a : alters) out.sql += a + ";\n";
  return out;
}

}  // namespace secprof::registry::internal
