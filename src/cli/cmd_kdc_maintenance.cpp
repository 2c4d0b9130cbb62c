// `secprof kdc fw|campaign|incident`: the owner's maintenance tooling (issue 5) on a KDC's files,
// usable while the KDC runs. Added under the `kdc` command that cmd_kdc.cpp installs (this file
// registers after it).
//
//   secprof kdc fw add --db F --envelope E --image I --model M [--vendor-ca CA.pem]
//   secprof kdc fw list --db F
//   secprof kdc campaign start --db F --firmware ID [--serial S]... [--stage N]
//                              [--max-failure-rate R]
//   secprof kdc campaign status --db F [--id ID]   (all campaigns without --id; per target thing:
//                                                  status, state, sequences, last attempt, reason)
//   secprof kdc campaign halt --db F --id ID [--reason TEXT]
//   secprof kdc incident report --db F --vendor V --model M --min-seq A --max-seq B --severity S
//                               --description TEXT [--stage N] [--max-failure-rate R]
//   secprof kdc incident list --db F
// Every one takes --format text|json (docs/CLI.md).
#include <iomanip>
#include <iostream>
#include <map>

#include "command.h"
#include "output.h"
#include "secprof/core/fs.h"
#include "secprof/core/time_format.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/registry/overview.h"

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
  std::string format = "text";
};

bool Json(const MaintArgs& a) { return a.format == "json"; }

nlohmann::json FirmwareJson(const registry::Firmware& f) {
  return {{"id", f.id},
          {"vendor", f.vendor},
          {"model", f.model},
          {"sequence", f.sequence},
          {"image_path", f.image_path},
          {"image_size", f.image_size},
          {"image_digest", f.image_digest},
          {"added", JsonTime(f.added)}};
}

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
  if (Json(a)) {
    SECPROF_ASSIGN_OR_RETURN(registry::Firmware f, tools->registry().GetFirmware(id));
    auto j = JsonDocument("kdc.fw.add");
    j["firmware"] = FirmwareJson(f);
    PrintJson(j);
    return Ok();
  }
  std::cout << "firmware " << id << " added\n";
  return Ok();
}

Status FwList(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_ASSIGN_OR_RETURN(auto list, tools->registry().ListFirmware());
  if (Json(a)) {
    auto j = JsonDocument("kdc.fw.list");
    j["firmware"] = nlohmann::json::array();
    for (const auto& f : list) j["firmware"].push_back(FirmwareJson(f));
    PrintJson(j);
    return Ok();
  }
  std::cout << std::left << std::setw(5) << "id" << std::setw(16) << "vendor" << std::setw(16)
            << "model" << std::setw(10) << "sequence" << std::setw(12) << "size"
            << "digest\n";
  for (const auto& f : list)
    std::cout << std::left << std::setw(5) << f.id << std::setw(16) << f.vendor << std::setw(16)
              << f.model << std::setw(10) << f.sequence << std::setw(12) << f.image_size
              << f.image_digest.substr(0, 16) << "…\n";
  return Ok();
}

nlohmann::json CampaignJson(const registry::CampaignOverview& o) {
  const registry::Campaign& c = o.campaign;
  nlohmann::json j = {
      {"id", c.id},
      {"firmware_id", c.firmware_id},
      {"firmware_sequence", o.firmware.sequence},
      {"vendor", o.firmware.vendor},
      {"model", o.firmware.model},
      {"state", registry::CampaignStateName(c.state)},
      {"stage_size", c.stage_size},
      {"max_failure_rate", c.max_failure_rate},
      {"released", c.released},
      {"reason", c.reason},
      {"incident_id", c.incident_id ? nlohmann::json(c.incident_id) : nlohmann::json()},
      {"created", JsonTime(c.created)},
      {"updated", JsonTime(c.updated)},
      {"counts", o.counts}};
  j["targets"] = nlohmann::json::array();
  for (const auto& t : o.targets)
    j["targets"].push_back(
        {{"serial", t.serial},
         {"status", registry::TargetStatusName(t.status)},
         {"thing_state", registry::StateName(t.thing_state)},
         {"running_sequence",
          t.running_sequence ? nlohmann::json(*t.running_sequence) : nlohmann::json()},
         {"last_attempt", JsonTime(t.last_attempt)},
         {"updated", JsonTime(t.updated)},
         {"reason", t.reason}});
  return j;
}

// A campaign and one line per target thing: status in the campaign, lifecycle state, the sequence
// it runs against the campaign's, when it last reported an attempt, and what it reported.
void PrintCampaign(const registry::CampaignOverview& o) {
  const registry::Campaign& c = o.campaign;
  std::cout << "campaign " << c.id << ": firmware " << c.firmware_id << " (sequence "
            << o.firmware.sequence << "), " << registry::CampaignStateName(c.state) << ", stage "
            << c.stage_size << ", max failure rate " << c.max_failure_rate << ", released "
            << c.released;
  if (c.incident_id) std::cout << ", incident " << c.incident_id;
  if (!c.reason.empty()) std::cout << " (" << c.reason << ")";
  std::cout << "\n ";
  for (const auto& [st, n] : o.counts)
    if (n) std::cout << " " << st << "=" << n;
  std::cout << "\n";
  for (const auto& t : o.targets) {
    std::cout << "  " << std::left << std::setw(16) << t.serial << " " << std::setw(9)
              << registry::TargetStatusName(t.status) << " " << std::setw(14)
              << registry::StateName(t.thing_state) << " running "
              << (t.running_sequence ? std::to_string(*t.running_sequence) : std::string("?"))
              << " -> " << o.firmware.sequence << ", last attempt "
              << FormatIso8601(t.last_attempt, "none");
    if (!t.reason.empty()) std::cout << ": " << t.reason;
    std::cout << "\n";
  }
}

// Prints campaigns as text, or as one JSON document (all of them, or the one asked for).
void PrintCampaigns(const MaintArgs& a, const std::vector<registry::CampaignOverview>& list,
                    const char* schema, bool one) {
  if (!Json(a)) {
    for (const auto& o : list) PrintCampaign(o);
    return;
  }
  auto j = JsonDocument(schema);
  if (one) {
    j["campaign"] = CampaignJson(list.front());
  } else {
    j["campaigns"] = nlohmann::json::array();
    for (const auto& o : list) j["campaigns"].push_back(CampaignJson(o));
  }
  PrintJson(j);
}

Status CampaignStart(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_ASSIGN_OR_RETURN(
      int64_t id, tools->StartCampaign(a.firmware, a.serials, a.stage, a.max_failure_rate));
  SECPROF_ASSIGN_OR_RETURN(auto o, registry::GetCampaignOverview(tools->registry(), id));
  PrintCampaigns(a, {o}, "kdc.campaign.start", true);
  return Ok();
}

Status CampaignStatus(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  std::vector<registry::CampaignOverview> list;
  if (a.id) {
    SECPROF_ASSIGN_OR_RETURN(auto o, registry::GetCampaignOverview(tools->registry(), a.id));
    list.push_back(std::move(o));
  } else {
    SECPROF_ASSIGN_OR_RETURN(list, registry::ListCampaignOverviews(tools->registry()));
  }
  // Always {"campaigns": [...]}: one shape whether --id was given or not.
  PrintCampaigns(a, list, "kdc.campaign.status", false);
  return Ok();
}

Status CampaignHalt(const MaintArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, Tools(a));
  SECPROF_TRY(tools->registry().HaltCampaign(a.id, a.reason, "owner"));
  if (Json(a)) {
    SECPROF_ASSIGN_OR_RETURN(auto o, registry::GetCampaignOverview(tools->registry(), a.id));
    PrintCampaigns(a, {o}, "kdc.campaign.halt", true);
    return Ok();
  }
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
  if (Json(a)) {
    auto j = JsonDocument("kdc.incident.report");
    j["incident_id"] = out.incident_id;
    j["affected"] = out.affected;
    j["campaign_id"] = out.campaign_id ? nlohmann::json(out.campaign_id) : nlohmann::json();
    PrintJson(j);
    return Ok();
  }
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
  if (Json(a)) {
    auto j = JsonDocument("kdc.incident.list");
    j["incidents"] = nlohmann::json::array();
    for (const auto& i : list)
      j["incidents"].push_back(
          {{"id", i.id},
           {"vendor", i.vendor},
           {"model", i.model},
           {"min_sequence", i.min_sequence},
           {"max_sequence", i.max_sequence},
           {"severity", i.severity},
           {"description", i.description},
           {"created", JsonTime(i.created)},
           {"campaign_id", i.campaign_id ? nlohmann::json(i.campaign_id) : nlohmann::json()}});
    PrintJson(j);
    return Ok();
  }
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
    c->add_option("--db", a->db, "The KDC's registry (SQLite file, or postgresql:// URI)")
        ->required();
    c->add_option("--keys", a->keys, "The KDC's key directory (default: <db>.keys)");
    AddFormatOption(c, a->format);
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
