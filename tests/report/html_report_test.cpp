// The HTML report teaches (issue 12 item 8): a diagram of the modelled system as inline SVG
// (well-formed, escaped, with every element, link and trust boundary), a "top actions" box,
// mitigation names beside their ids, EN 303 645 provision titles, and levels that read without
// colour on tints that meet WCAG 2.2 AA contrast (4.5:1). In-process, on the worked examples.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"
#include "secprof/report/report.h"
#include "testutil.h"

namespace secprof::report {
namespace {

struct Rendered {
  model::Model model;
  assess::Assessment a;
  std::string html;
};

const catalog::Catalog& Cat() {
  static auto cat = catalog::LoadBuiltin();
  return **cat;
}

Rendered RenderModel(const model::Model& m) {
  auto a = assess::Assess(Cat(), m);
  EXPECT_TRUE(a) << a.error().ToString();
  return Rendered{m, *a, RenderHtml(*a, Cat(), &m)};
}

Rendered RenderExample(const std::string& name) {
  auto m = model::LoadFile((testing::SourceDir() / "examples" / (name + ".yaml")).string());
  EXPECT_TRUE(m) << m.error().ToString();
  return RenderModel(*m);
}

Rendered RenderText(const std::string& yaml) {
  auto m = model::Parse("t.yaml", yaml);
  EXPECT_TRUE(m) << m.error().ToString();
  return RenderModel(*m);
}

// Every <svg>...</svg> in `html`.
std::vector<std::string> Svgs(const std::string& html) {
  std::vector<std::string> out;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const size_t end = html.find("</svg>", at);
    if (end == std::string::npos) break;
    out.push_back(html.substr(at, end + 6 - at));
  }
  return out;
}

// XML 1.0 well-formedness of one element and its content, enough for what the report emits:
// tags nest, attribute values are quoted, '<' appears only as markup, every '&' starts one of
// the predefined entities or a character reference. Returns "" when well-formed, else why not.
std::string WellFormed(const std::string& x) {
  static const std::regex kEntity(R"(&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)");
  static const std::regex kTag(
      R"(<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:\s+[A-Za-z:_-][A-Za-z0-9:_.-]*="[^"<]*")*)\s*(/?)>)");
  std::vector<std::string> open;
  size_t i = 0;
  while (i < x.size()) {
    if (x[i] == '&') {
      std::smatch m;
      const std::string rest = x.substr(i, 12);
      if (!std::regex_search(rest, m, kEntity) || m.position(0) != 0) {
        return "bad '&' at " + std::to_string(i);
      }
      i += m.length(0);
    } else if (x[i] == '<') {
      const size_t end = x.find('>', i);
      if (end == std::string::npos) return "unclosed tag at " + std::to_string(i);
      const std::string tag = x.substr(i, end + 1 - i);
      std::smatch m;
      if (!std::regex_match(tag, m, kTag)) return "malformed tag " + tag;
      if (m[1] == "/") {
        if (open.empty() || open.back() != m[2]) return "mismatched " + tag;
        open.pop_back();
      } else if (m[4] != "/") {
        open.push_back(m[2]);
      }
      i = end + 1;
    } else if (x[i] == '>') {
      return "stray '>' at " + std::to_string(i);
    } else {
      ++i;
    }
    if (open.empty() && i < x.size()) return "content after the root element";
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// WCAG 2.2 contrast ratio of two "#rrggbb" colours (relative luminance, sRGB).
double Contrast(const std::string& a, const std::string& b) {
  auto lum = [](const std::string& hex) {
    double rgb[3];
    for (int k = 0; k < 3; ++k) {
      const double c = std::stoi(hex.substr(1 + 2 * k, 2), nullptr, 16) / 255.0;
      rgb[k] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  };
  double la = lum(a), lb = lum(b);
  if (la < lb) std::swap(la, lb);
  return (la + 0.05) / (lb + 0.05);
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, EverySvgIsWellFormed) {
  for (const char* name :
       {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    Rendered r = RenderExample(name);
    const auto svgs = Svgs(r.html);
    ASSERT_EQ(svgs.size(), 3u) << name;  // the system, the heat map, the risk matrix
    for (const auto& svg : svgs) EXPECT_EQ(WellFormed(svg), "") << name << "\n" << svg;
  }
  // The checker itself refuses what it must.
  EXPECT_NE(WellFormed("<svg><g></svg>"), "");
  EXPECT_NE(WellFormed("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(WellFormed("<svg><text>R&D</text></svg>"), "");
  EXPECT_NE(WellFormed("<svg x=1></svg>"), "");
  EXPECT_EQ(WellFormed("<svg a=\"1\"><g><text>R&amp;D &#8594;</text></g><rect/></svg>"), "");
}

TEST(HtmlReport, DiagramShowsEveryElementLinkAndTrustBoundary) {
  Rendered r = RenderExample("office-building");
  const std::string svg = Svgs(r.html).at(0);
  ASSERT_NE(svg.find("The modelled system"), std::string::npos);
  for (const auto& t : r.model.things) {
    EXPECT_NE(svg.find("<g class=\"element\"><title>" + t.id + "</title>"), std::string::npos)
        << t.id;
  }
  for (const auto& n : r.model.nodes) {
    EXPECT_NE(svg.find("<g class=\"element\"><title>" + n.id + "</title>"), std::string::npos)
        << n.id;
  }
  EXPECT_EQ(Count(svg, "<g class=\"link\">"), r.model.links.size());
  for (const auto& l : r.model.links) {
    EXPECT_NE(svg.find(l.id + ": " + l.from + " - " + l.to), std::string::npos) << l.id;
  }
  // office-building has a cloud backend: two trust boundaries.
  EXPECT_NE(svg.find("Trust boundary: Cloud"), std::string::npos);
  EXPECT_NE(svg.find("Trust boundary: Local security domain"), std::string::npos);
  EXPECT_NE(svg.find("the whole model"), std::string::npos);
  // A model without cloud nodes has only the local boundary.
  Rendered home = RenderExample("home-lighting");
  const std::string home_svg = Svgs(home.html).at(0);
  EXPECT_EQ(home_svg.find("Trust boundary: Cloud"), std::string::npos);
  EXPECT_NE(home_svg.find("Trust boundary: Local security domain"), std::string::npos);
}

TEST(HtmlReport, DiagramEscapesModelText) {
  Rendered r = RenderText(
      "name: \"<script>alert(1)</script>\"\nthings:\n  - {id: \"a<b&c\", vendor: \"v\\\"x'\"}\n"
      "nodes:\n  - {id: \"k>&\", kind: kdc, location: cloud}\nlinks:\n"
      "  - {from: \"k>&\", to: \"a<b&c\", protection: none}\n");
  EXPECT_EQ(r.html.find("<script"), std::string::npos);
  const std::string svg = Svgs(r.html).at(0);
  EXPECT_EQ(WellFormed(svg), "") << svg;
  EXPECT_NE(svg.find("a&lt;b&amp;c"), std::string::npos);
  EXPECT_NE(svg.find("k&gt;&amp;"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
}

TEST(HtmlReport, LargeModelsAreDrawnInPartAndSaySo) {
  std::string y = "name: big\nnodes:\n  - {id: kdc, kind: kdc}\nthings:\n";
  std::string links = "links:\n";
  for (int i = 0; i < 60; ++i) {
    y += "  - {id: t" + std::to_string(i) + ", vendor: v}\n";
    links += "  - {from: kdc, to: t" + std::to_string(i) + ", protection: dtls}\n";
  }
  Rendered r = RenderText(y + links);
  const std::string svg = Svgs(r.html).at(0);
  EXPECT_EQ(WellFormed(svg), "");
  EXPECT_NE(svg.find("Not drawn: 0 node(s), 18 thing entries, 18 link(s)"), std::string::npos);
  EXPECT_EQ(Count(svg, "<g class=\"element\">"), 43u);  // 1 node + 42 things
}

TEST(HtmlReport, LevelsReadWithoutColourAndMeetAaContrast) {
  for (const char* name : {"home-lighting", "industrial-plant"}) {
    Rendered r = RenderExample(name);
    std::vector<std::string> levels = r.a.risk_matrix.risk_levels;
    // Badges: a level word in the text colour on the tint.
    static const std::regex kBadge(
        R"re(<span class="badge" style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})">([^<]*)</span>)re");
    size_t badges = 0;
    for (auto it = std::sregex_iterator(r.html.begin(), r.html.end(), kBadge);
         it != std::sregex_iterator(); ++it, ++badges) {
      EXPECT_GE(Contrast((*it)[1], (*it)[2]), 4.5) << (*it)[0];
      const std::string word = (*it)[3];
      EXPECT_TRUE(word == "-" || std::find(levels.begin(), levels.end(), word) != levels.end())
          << word;
    }
    EXPECT_GT(badges, 10u) << name;
    // SVG cells and elements: every tinted rectangle's text colour.
    static const std::regex kCell(
        R"re(<g class="(cell|element)">.*?<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*/><text [^>]*fill="(#[0-9a-f]{6})")re");
    size_t cells = 0;
    for (auto it = std::sregex_iterator(r.html.begin(), r.html.end(), kCell);
         it != std::sregex_iterator(); ++it, ++cells) {
      EXPECT_GE(Contrast((*it)[2], (*it)[3]), 4.5) << (*it)[0];
    }
    EXPECT_GT(cells, 20u) << name;
    // The risk matrix prints each cell's level as a word.
    const std::string matrix = Svgs(r.html).at(2);
    for (const auto& level : levels) {
      EXPECT_NE(matrix.find(">" + level + "</text>"), std::string::npos) << level;
    }
  }
  // The contrast function is the WCAG one: black on white is 21:1, white on #777777 about 4.48.
  EXPECT_NEAR(Contrast("#000000", "#ffffff"), 21.0, 1e-9);
  EXPECT_LT(Contrast("#ffffff", "#777777"), 4.5);
}

TEST(HtmlReport, TopActionsNameTheMitigationsThatMatterMost) {
  Rendered r = RenderExample("industrial-plant");
  const size_t box = r.html.find("<div class=\"actions\" id=\"top-actions\"><h2>Top actions</h2>");
  ASSERT_NE(box, std::string::npos);
  ASSERT_LT(box, r.html.find("<h2>Where the threats strike</h2>"));  // near the top
  const std::string actions = r.html.substr(box, r.html.find("</div>", box) - box);
  ASSERT_FALSE(r.a.gaps.empty());
  EXPECT_EQ(Count(actions, "<li>"), std::min<size_t>(5, r.a.gaps.size()));
  // The first action leaves open the highest risk of all gaps.
  int highest = -1;
  for (const auto& g : r.a.gaps) {
    highest = std::max(highest, assess::RiskRank(r.a.risk_matrix, g.highest_risk));
  }
  const size_t first = actions.find("<li>");
  const std::string item = actions.substr(first, actions.find("</li>", first) - first);
  EXPECT_NE(item.find(">" + r.a.risk_matrix.risk_levels[highest] + "</span>"), std::string::npos)
      << item;
  // Each action names the mitigation and its id.
  for (const auto& g : r.a.gaps) {
    if (actions.find("<code>" + g.mitigation + "</code>") != std::string::npos) {
      EXPECT_NE(actions.find("<strong>" + g.name + "</strong> <code>" + g.mitigation),
                std::string::npos);
    }
  }
  // With every required mitigation declared, the box says so.
  std::string all = "name: x\nthings: [{id: a, vendor: v}]\nmitigations: [";
  const catalog::Profile* p = Cat().FindProfile(r.a.profile.id);
  Rendered small = RenderText("name: x\nthings: [{id: a, vendor: v}]\n");
  const catalog::Profile* sp = Cat().FindProfile(small.a.profile.id);
  ASSERT_TRUE(p && sp);
  for (size_t i = 0; i < sp->mitigations.size(); ++i) all += (i ? ", " : "") + sp->mitigations[i];
  Rendered done = RenderText(all + "]\n");
  EXPECT_TRUE(done.a.gaps.empty());
  EXPECT_NE(done.html.find("Every mitigation the profile requires is declared."),
            std::string::npos);
}

TEST(HtmlReport, MitigationNamesAndProvisionTitlesBesideTheirIds) {
  Rendered r = RenderExample("home-lighting");
  size_t named = 0;
  for (const auto& f : r.a.findings) {
    for (const auto& id : f.missing) {
      const catalog::Mitigation* m = Cat().FindMitigation(id);
      ASSERT_TRUE(m);
      EXPECT_NE(r.html.find("<code>" + id + "</code> " + m->name), std::string::npos) << id;
      ++named;
    }
  }
  EXPECT_GT(named, 0u);
  ASSERT_FALSE(r.a.standards.etsi_en_303_645.empty());
  for (const auto& p : r.a.standards.etsi_en_303_645) {
    const catalog::StandardItem* s = Cat().standards_list.FindEtsi(p.provision);
    ASSERT_TRUE(s) << p.provision;
    std::string title = std::regex_replace(s->title, std::regex("'"), "&#39;");  // escaped
    EXPECT_NE(r.html.find("<strong>" + p.provision + "</strong> " + title), std::string::npos)
        << p.provision;
  }
  // The conflicts of SecProf_1 carry titles too.
  EXPECT_NE(r.html.find("<strong>5.5-6</strong> Critical security parameters encrypted in transit"),
            std::string::npos);
  EXPECT_NE(r.html.find("Logical access to interfaces"), std::string::npos);
}

}  // namespace
}  // namespace secprof::report
