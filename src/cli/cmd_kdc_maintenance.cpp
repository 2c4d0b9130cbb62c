// `secprof kdc fw|campaign|incident`: the owner's maintenance tooling (issue 5) on a KDC's files,
// usable while the KDC runs. Added under the `kdc` command that cmd_kdc.cpp installs (this file
// registers after it).
//
//   secprof kdc fw add --db F --envelope E --image I --model M [--vendor-ca CA.pem]
//   secprof kdc fw list --db F
//   secprof kdc campaign start --db F --firmware ID [--serial S]... [--stage N] [--max-failure-rate
//   R] secprof kdc campaign status --db F [--id ID]   (all campaigns without --id) secprof kdc
//   campaign halt --db F --id ID [--reason TEXT] secprof kdc incident report --db F --vendor V
//   --model M --min-seq A --max-seq B --severity S
//                               --description TEXT [--stage N] [--max-failure-rate R]
//   secprof kdc incident list --db F
#include <iomanip>
#include <iostream>

#include "command.h"
#include "secprof/core/fs.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"

namespace secprof::cli {
namespace {

struct MaintArgs {
  std::string db, keys;
  std::string envelope, image, model, vendor_ca;
  int64_t firmware = 0, id = 0, stage = 10;
  double max_failure_rate = 0.1;
  std::vector<std::string> serials;
  std::string reason = "halted by the owner";
  std::string vendor, severity, description;
  uint64_t min_seq = 0, max_seq = 0;
};

Result<std::unique_ptr<kdc::OwnerTools>> Tools(const MaintArgs& a) {
  return kdc::OwnerTools::Open(a.db, a.keys);
}

Status FwAdd(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  if (!a.vendor_ca.empty()) {
    SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(a.vendor_ca));
    auto ca = identity::Certificate::FromPem(pem);
    if (!ca) return Fail(ca.error().WithContext(a.vendor_ca));
    SECPROF_TRY(tools->TrustVendor(*ca));
  }
  SECPROF_ASSIGN_OR_RETURN(std::string env, ReadFile(a.envelope));
  SECPROF_ASSIGN_OR_RETURN(
      int64_t id, tools->AddFirmware(crypto::Bytes(env.begin(), env.end()), a.image, a.model));
  std::cout << "firmware " << id << " added\n";
  return Ok();
}

Status FwList(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_ASSIGN_OR_RETURN(auto list, tools->registry().ListFirmware());
  std::cout << std::left << std::setw(5) << "id" << std::setw(16) << "vendor" << std::setw(16)
            << "model" << std::setw(10) << "sequence" << std::setw(12) << "size"
            << "digest\n";
  for (const auto& f : list)
    std::cout << std::left << std::setw(5) << f.id << std::setw(16) << f.vendor << std::setw(16)
              << f.model << std::setw(10) << f.sequence << std::setw(12) << f.image_size
              << f.image_digest.substr(0, 16) << "…\n";
  return Ok();
}

void PrintCampaign(registry::Registry& reg, const registry::Campaign& c) {
  std::cout << "campaign " << c.id << ": firmware " << c.firmware_id << ", "
            << registry::CampaignStateName(c.state) << ", stage " << c.stage_size
            << ", max failure rate " << c.max_failure_rate << ", released " << c.released;
  if (c.incident_id) std::cout << ", incident " << c.incident_id;
  if (!c.reason.empty()) std::cout << " (" << c.reason << ")";
  std::cout << "\n";
  auto targets = reg.CampaignTargets(c.id);
  if (!targets) return;
  std::map<std::string, int> by;
  for (const auto& t : *targets) ++by[registry::TargetStatusName(t.status)];
  std::cout << " ";
  for (const auto& [s, n] : by) std::cout << " " << s << "=" << n;
  std::cout << "\n";
  for (const auto& t : *targets)
    if (t.status == registry::TargetStatus::kFailed)
      std::cout << "  failed " << t.serial << ": " << t.detail << "\n";
}

Status CampaignStart(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_ASSIGN_OR_RETURN(
      int64_t id, tools->StartCampaign(a.firmware, a.serials, a.stage, a.max_failure_rate));
  SECPROF_ASSIGN_OR_RETURN(auto c, tools->registry().GetCampaign(id));
  PrintCampaign(tools->registry(), c);
  return Ok();
}

Status CampaignStatus(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  if (a.id) {
    SECPROF_ASSIGN_OR_RETURN(auto c, tools->registry().GetCampaign(a.id));
    PrintCampaign(tools->registry(), c);
    return Ok();
  }
  SECPROF_ASSIGN_OR_RETURN(auto list, tools->registry().ListCampaigns());
  for (const auto& c : list) PrintCampaign(tools->registry(), c);
  return Ok();
}

Status CampaignHalt(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_TRY(tools->registry().HaltCampaign(a.id, a.reason, "owner"));
  std::cout << "campaign " << a.id << " halted\n";
  return Ok();
}

Status IncidentReport(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  registry::Incident in;
  in.vendor = a.vendor;
  in.model = a.model;
  in.min_sequence = a.min_seq;
  in.max_sequence = a.max_seq;
  in.severity = a.severity;
  in.description = a.description;
  SECPROF_ASSIGN_OR_RETURN(auto out, tools->ReportIncident(in, a.stage, a.max_failure_rate));
  std::cout << "incident " << out.incident_id << ": " << out.affected.size()
            << " affected thing(s)";
  if (out.campaign_id)
    std::cout << "; campaign " << out.campaign_id << " started with the newest fix in the store\n";
  else
    std::cout << "; no newer firmware in the store yet: add the fix, then `campaign start`\n";
  for (const auto& s : out.affected) std::cout << "  " << s << "\n";
  return Ok();
}

Status IncidentList(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_ASSIGN_OR_RETURN(auto list, tools->registry().ListIncidents());
  for (const auto& i : list)
    std::cout << "incident " << i.id << ": " << i.severity << " " << i.vendor << " " << i.model
              << " sequences " << i.min_sequence << ".." << i.max_sequence << ", campaign "
              << i.campaign_id << ": " << i.description << "\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  CLI::App* k = InstalledSubcommand(app, "kdc");
  if (!k) return;  // no kdc command in this build
  auto a = std::make_shared<MaintArgs>();
  auto leaf = [&, a](CLI::App* parent, const char* name, const char* help,
                     Status (*fn)(const MaintArgs&)) {
    auto* c = parent->add_subcommand(name, help);
    c->add_option("--db", a->db, "The KDC's registry (SQLite file)")->required();
    c->add_option("--keys", a->keys, "The KDC's key directory (default: <db>.keys)");
    c->callback([a, fn, &ctx] {
      auto st = fn(*a);
      ctx.exit_code = ExitFor(st, kPlainExit);
    });
    return c;
  };
  auto* fw = k->add_subcommand("fw", "The firmware store (signed SUIT envelopes and images)");
  fw->require_subcommand(1);
  auto* add = leaf(fw, "add",
                   "Add a signed update: verified against its vendor's trust anchor, the model's "
                   "class and the image before anything is stored",
                   FwAdd);
  add->add_option("--envelope", a->envelope, "SUIT envelope (secprof fw sign)")->required();
  add->add_option("--image", a->image, "The image file")->required();
  add->add_option("--model", a->model, "The things' model (its class-id must match)")->required();
  add->add_option("--vendor-ca", a->vendor_ca, "Trust this manufacturer CA first (PEM)");
  leaf(fw, "list", "List the firmware store", FwList);

  auto* camp = k->add_subcommand("campaign", "Staged update campaigns");
  camp->require_subcommand(1);
  auto* start = leaf(camp, "start", "Offer a firmware to things, a stage at a time", CampaignStart);
  start->add_option("--firmware", a->firmware, "Firmware id (kdc fw list)")->required();
  start->add_option("--serial", a->serials,
                    "Target (repeatable; default: every active thing of the firmware's model)");
  start->add_option("--stage", a->stage, "Things per stage")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  start
      ->add_option("--max-failure-rate", a->max_failure_rate,
                   "Halt when failed/reported exceeds this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  auto* status = leaf(camp, "status", "Show campaigns and their targets", CampaignStatus);
  status->add_option("--id", a->id, "One campaign");
  auto* halt = leaf(camp, "halt", "Stop a campaign (nothing more is offered)", CampaignHalt);
  halt->add_option("--id", a->id, "The campaign")->required();
  halt->add_option("--reason", a->reason, "Why")->capture_default_str();

  auto* inc = k->add_subcommand("incident", "Incident records that start patch campaigns");
  inc->require_subcommand(1);
  auto* rep = leaf(inc, "report",
                   "Record an incident, list the affected things, and start a campaign with the "
                   "newest fix in the store",
                   IncidentReport);
  rep->add_option("--vendor", a->vendor, "Affected vendor")->required();
  rep->add_option("--model", a->model, "Affected model")->required();
  rep->add_option("--min-seq", a->min_seq, "First affected sequence number")->required();
  rep->add_option("--max-seq", a->max_seq, "Last affected sequence number")->required();
  rep->add_option("--severity", a->severity, "low, medium, high or critical")->required();
  rep->add_option("--description", a->description, "What happened")->required();
  rep->add_option("--stage", a->stage, "Things per stage of the campaign")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  rep->add_option("--max-failure-rate", a->max_failure_rate, "Halt threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  leaf(inc, "list", "List incidents", IncidentList);
}

Registrar reg("kdc-maintenance", 61, Install);

}  // namespace
}  // namespace secprof::cli
