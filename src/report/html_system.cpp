// The system diagram of the HTML report (html_parts.h): what was modelled, where the trust
// boundaries are, and how each link is protected, so that a reader can check the model against
// the system before reading the findings.
#include <algorithm>
#include <map>
#include <sstream>

#include "html_parts.h"
#include "palette.h"

namespace secprof::report {
namespace {

constexpr int kBoxW = 150, kBoxH = 58, kGapX = 24, kGapY = 56, kMargin = 16, kPerRow = 7;
constexpr size_t kMaxNodes = 28, kMaxThings = 42;

// At most `max` code points of valid UTF-8 `s`, with an ellipsis when cut.
std::string Clip(const std::string& s, size_t max) {
  size_t cps = 0, i = 0;
  while (i < s.size()) {
    if (cps == max) return s.substr(0, i) + "\xE2\x80\xA6";
    const auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++cps;
  }
  return s;
}

struct Box {
  int x = 0, y = 0;
  std::string title, kind, worst;
};

struct Zone {
  std::string label;
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool used = false;
};

// Lays out `ids` in rows of kPerRow starting at `y`; returns the y below the last row.
int Place(const std::vector<std::pair<std::string, Box>>& items, int y,
          std::map<std::string, Box>& boxes, Zone& zone) {
  if (items.empty()) return y;
  zone.used = true;
  zone.x0 = kMargin / 2;
  zone.y0 = y - 22;
  int row = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    row = static_cast<int>(i) / kPerRow;
    Box b = items[i].second;
    b.x = kMargin + (static_cast<int>(i) % kPerRow) * (kBoxW + kGapX);
    b.y = y + row * (kBoxH + kGapY);
    boxes[items[i].first] = b;
    zone.x1 = std::max(zone.x1, b.x + kBoxW + kMargin / 2);
  }
  zone.y1 = y + row * (kBoxH + kGapY) + kBoxH + 10;
  return zone.y1 + 40;
}

}  // namespace

std::string SystemDiagram(const model::Model& m, const assess::Assessment& a) {
  // The highest residual risk per element.
  std::map<std::string, int> worst;
  for (const auto& f : a.findings) {
    const int r = assess::RiskRank(a.risk_matrix, f.residual_risk);
    for (const auto& e : f.elements) {
      auto [it, fresh] = worst.emplace(e.id, r);
      if (!fresh) it->second = std::max(it->second, r);
    }
  }
  auto worst_of = [&](const std::string& id) {
    auto it = worst.find(id);
    return it == worst.end() || it->second < 0 ? std::string()
                                               : a.risk_matrix.risk_levels[it->second];
  };
  std::vector<std::pair<std::string, Box>> cloud, local, things;
  size_t nodes_left_out = 0, things_left_out = 0;
  for (const auto& n : m.nodes) {
    auto& row = n.location == "cloud" ? cloud : local;
    if (cloud.size() + local.size() >= kMaxNodes) {
      ++nodes_left_out;
      continue;
    }
    row.push_back({n.id, Box{0, 0, n.id, n.kind + (n.internet_facing ? ", internet-facing" : ""),
                             worst_of(n.id)}});
  }
  for (const auto& t : m.things) {
    if (things.size() >= kMaxThings) {
      ++things_left_out;
      continue;
    }
    std::string kind = (t.count > 1 ? std::to_string(t.count) + " \xC3\x97 " : "") + t.device_class;
    if (!t.vendor.empty()) kind += ", " + t.vendor;
    things.push_back({t.id, Box{0, 0, t.id, kind, worst_of(t.id)}});
  }
  std::map<std::string, Box> boxes;
  Zone cloud_zone{"Cloud (outside the local security domain)"};
  Zone domain_zone{"Local security domain"};
  int y = 40;
  y = Place(cloud, y, boxes, cloud_zone);
  const int domain_top = y;
  y = Place(local, y, boxes, domain_zone);
  Zone things_zone;
  y = Place(things, y, boxes, things_zone);
  if (things_zone.used) {  // things share the local domain's boundary with the local nodes
    if (!domain_zone.used) {
      domain_zone.x0 = things_zone.x0;
      domain_zone.y0 = domain_top - 22;
      domain_zone.used = true;
    }
    domain_zone.x1 = std::max(domain_zone.x1, things_zone.x1);
    domain_zone.y1 = things_zone.y1;
  }
  const int width =
      std::max({cloud_zone.x1, domain_zone.x1, kMargin + kPerRow * (kBoxW + kGapX)}) + kMargin;
  const int legend_y = y;
  const int height = legend_y + 70;

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" role=\"img\" aria-labelledby=\"sysdiag-title\" font-family=\"sans-serif\">"
    << "<title id=\"sysdiag-title\">The modelled system: " << Esc(m.name) << "</title>";
  for (const Zone* z : {&cloud_zone, &domain_zone}) {
    if (!z->used) continue;
    o << "<g class=\"boundary\"><rect x=\"" << z->x0 << "\" y=\"" << z->y0 << "\" width=\""
      << z->x1 - z->x0 << "\" height=\"" << z->y1 - z->y0
      << "\" fill=\"none\" stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"8,4\" "
         "rx=\"8\"/><text x=\""
      << z->x0 + 8 << "\" y=\"" << z->y0 + 14 << "\" font-size=\"12\" font-weight=\"bold\" fill=\""
      << kInk << "\">Trust boundary: " << Esc(z->label) << "</text></g>";
  }
  // Links under the boxes.
  size_t links_left_out = 0, drawn = 0;
  for (const auto& l : m.links) {
    auto from = boxes.find(l.from), to = boxes.find(l.to);
    if (from == boxes.end() || to == boxes.end()) {
      ++links_left_out;
      continue;
    }
    ++drawn;
    const Box &p = from->second, &q = to->second;
    const int x1 = p.x + kBoxW / 2, y1 = p.y + kBoxH / 2, x2 = q.x + kBoxW / 2,
              y2 = q.y + kBoxH / 2;
    std::string dash;
    if (l.protection == "none") {
      dash = " stroke-dasharray=\"2,4\"";
    } else if (l.protection == "link_key") {
      dash = " stroke-dasharray=\"8,4\"";
    }
    o << "<g class=\"link\"><title>"
      << Esc(l.id + ": " + l.from + " - " + l.to + ", " + l.medium + ", protection " + l.protection)
      << "</title><line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2
      << "\" stroke=\"" << (l.protection == "none" ? "#8b0000" : "#333333") << "\" stroke-width=\""
      << (l.protection == "none" ? 2.5 : 1.5) << "\"" << dash << "/>";
    if (m.links.size() <= 40) {
      o << "<text x=\"" << (x1 + x2) / 2 + 4 << "\" y=\"" << (y1 + y2) / 2 - 4
        << "\" font-size=\"10\" fill=\"" << kInk << "\">" << Esc(l.protection) << "</text>";
    }
    o << "</g>";
  }
  for (const auto& [id, b] : boxes) {
    const std::string tint = LevelTint(a.risk_matrix.risk_levels, b.worst);
    o << "<g class=\"element\"><title>" << Esc(id) << "</title><rect x=\"" << b.x << "\" y=\""
      << b.y << "\" width=\"" << kBoxW << "\" height=\"" << kBoxH << "\" rx=\"5\" fill=\"" << tint
      << "\" stroke=\"#333333\"/>";
    const std::string lines[] = {Clip(b.title, 22), Clip(b.kind, 26),
                                 b.worst.empty() ? "no finding" : "highest residual: " + b.worst};
    for (int k = 0; k < 3; ++k) {
      o << "<text x=\"" << b.x + 6 << "\" y=\"" << b.y + 16 + k * 16 << "\" font-size=\""
        << (k == 0 ? 12 : 10) << "\"" << (k == 0 ? " font-weight=\"bold\"" : "") << " fill=\""
        << kInk << "\">" << Esc(lines[k]) << "</text>";
    }
    o << "</g>";
  }
  o << "<g class=\"legend\" font-size=\"11\" fill=\"" << kInk << "\">";
  const int ly = legend_y;
  o << "<line x1=\"16\" y1=\"" << ly << "\" x2=\"56\" y2=\"" << ly
    << "\" stroke=\"#333333\" stroke-width=\"1.5\"/><text x=\"62\" y=\"" << ly + 4
    << "\">DTLS, TLS or OSCORE</text>";
  o << "<line x1=\"220\" y1=\"" << ly << "\" x2=\"260\" y2=\"" << ly
    << "\" stroke=\"#333333\" stroke-width=\"1.5\" stroke-dasharray=\"8,4\"/><text x=\"266\" y=\""
    << ly + 4 << "\">link-layer key only</text>";
  o << "<line x1=\"410\" y1=\"" << ly << "\" x2=\"450\" y2=\"" << ly
    << "\" stroke=\"#8b0000\" stroke-width=\"2.5\" stroke-dasharray=\"2,4\"/><text x=\"456\" y=\""
    << ly + 4 << "\">unprotected</text>";
  std::string left;
  if (nodes_left_out + things_left_out + links_left_out > 0) {
    left = "Not drawn: " + std::to_string(nodes_left_out) + " node(s), " +
           std::to_string(things_left_out) + " thing entries, " + std::to_string(links_left_out) +
           " link(s) (every element is in the tables below).";
  } else {
    left = std::to_string(boxes.size()) + " elements and " + std::to_string(drawn) +
           " links drawn: the whole model.";
  }
  o << "<text x=\"16\" y=\"" << ly + 30 << "\">" << Esc(left) << "</text></g></svg>";
  return o.str();
}

}  // namespace secprof::report
