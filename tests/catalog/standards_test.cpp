// catalog/standards.yaml: the catalog may name only EN 303 645 provisions and NIST IR 8259A
// capabilities that were checked against the standards' text (issue 13 item 4). Each test breaks
// one file of a copy of catalog/ and expects the loader to refuse it, located at the name.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "secprof/catalog/catalog.h"
#include "support/catalog_copy.h"

namespace secprof::catalog {
namespace {

using testing::CatalogCopy;

void ExpectError(const CatalogCopy& c, const std::string& where, const std::string& message) {
  auto cat = LoadDirectory(c.dir().string());
  ASSERT_FALSE(cat) << "the broken catalog loaded";
  const std::string text = cat.error().ToString();
  EXPECT_EQ(text.rfind(where + ": ", 0), 0u) << text << "\nexpected at " << where;
  EXPECT_NE(text.find(message), std::string::npos) << text;
}

// Every provision and capability the built-in catalog names is in the verified list.
TEST(CatalogStandards, BuiltinNamesOnlyVerifiedProvisions) {
  auto cat = LoadBuiltin();
  ASSERT_TRUE(cat) << cat.error().ToString();
  const StandardsList& list = (*cat)->standards_list;
  auto verified_etsi = [&](const std::string& id) {
    const StandardItem* p = list.FindEtsi(id);
    return p && p->verified && !p->title.empty() && !p->sources.empty();
  };
  size_t named = 0;
  for (const auto& m : (*cat)->mitigations) {
    for (const auto& e : m.references.etsi) {
      EXPECT_TRUE(verified_etsi(e)) << m.id << " names " << e;
      ++named;
    }
  }
  for (const auto& p : (*cat)->profiles) {
    for (const auto& e : p.standards.etsi_en_303_645) EXPECT_TRUE(verified_etsi(e)) << p.id << e;
    for (const auto& c : p.standards.conflicts) {
      EXPECT_TRUE(verified_etsi(c.provision)) << p.id << " conflict " << c.provision;
    }
    for (const auto& n : p.standards.nist_ir_8259a) {
      const StandardItem* c = list.FindNist(n);
      EXPECT_TRUE(c && c->verified) << p.id << " names " << n;
    }
  }
  EXPECT_GT(named, 30u);
  // The list is EN 303 645 V2.1.1's: clause 5.3 has 16 provisions, clause 6 five (6-1 .. 6-5),
  // and NIST IR 8259A six capabilities.
  std::set<std::string> ids;
  for (const auto& p : list.etsi_en_303_645) ids.insert(p.id);
  EXPECT_TRUE(ids.count("5.3-16"));
  EXPECT_FALSE(ids.count("5.3-17"));
  EXPECT_TRUE(ids.count("6-5"));
  EXPECT_FALSE(ids.count("6-6"));
  EXPECT_EQ(list.nist_ir_8259a.size(), 6u);
  EXPECT_NE(list.etsi_title.find("V2.1.1"), std::string::npos);
}

TEST(CatalogStandards, UnlistedProvisionInAMitigationIsRefused) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "etsi: [\"5.3-16\", \"5.5-8\"]", "etsi: [\"5.3-17\", \"5.5-8\"]");
  ExpectError(c, c.Where("mitigations.yaml", "\"5.3-17\""), "not in catalog/standards.yaml");
}

TEST(CatalogStandards, UnverifiedProvisionIsRefused) {
  CatalogCopy c;
  c.Replace("standards.yaml",
            "{id: \"5.3-16\", title: \"The model designation clearly recognizable (label or "
            "physical interface)\", verified: true",
            "{id: \"5.3-16\", title: \"Model designation\", verified: false");
  ExpectError(c, c.Where("mitigations.yaml", "\"5.3-16\""), "listed as unverified");
}

TEST(CatalogStandards, UnlistedProvisionInAProfileIsRefused) {
  CatalogCopy c;
  // A provision claimed as met, and a conflict, each naming a number the standard does not have.
  c.Replace("profiles.yaml", "\"6-1\", \"6-2\", \"6-4\"]", "\"6-1\", \"6-2\", \"6.1-4\"]");
  ExpectError(c, c.Where("profiles.yaml", "\"6.1-4\""), "not in catalog/standards.yaml");
  CatalogCopy d;
  d.Replace("profiles.yaml", "provision: \"5.8-1\"", "provision: \"5.8-4\"");
  ExpectError(d, d.Where("profiles.yaml", "\"5.8-4\""), "not in catalog/standards.yaml");
}

TEST(CatalogStandards, UnknownNistCapabilityIsRefused) {
  CatalogCopy c;
  c.Replace("mitigations.yaml", "other: [NIST IR 8259A software update]",
            "other: [NIST IR 8259A firmware update]");
  ExpectError(c, c.Where("mitigations.yaml", "NIST IR 8259A firmware update"),
              "not a verified NIST IR 8259A capability");
  CatalogCopy d;
  d.Replace("profiles.yaml", "nist_ir_8259a: [device_configuration,",
            "nist_ir_8259a: [device_management,");
  ExpectError(d, d.Where("profiles.yaml", "device_management"),
              "not a verified NIST IR 8259A capability");
}

TEST(CatalogStandards, VerifiedWithoutASourceIsRefused) {
  CatalogCopy c;
  c.Replace("standards.yaml", "verified: true, sources: [zephyr, iotops]}",
            "verified: true, sources: []}");
  ExpectError(c, c.Where("standards.yaml", "verified: true, sources: []", 1, 10),
              "names no source");
}

}  // namespace
}  // namespace secprof::catalog
