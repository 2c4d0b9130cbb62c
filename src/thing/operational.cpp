// The operational session, the thing's side (docs/DOMAIN.md "Lifecycle" rows commissioned |
// maintenance -> operational and operational -> maintenance, "Resources" lc/state and r/report;
// draft-garcia-security-mitigations-and-profiles §3.1 "The Thing Lifecycle": the operational and
// maintenance phases). The KDC's side: src/kdc/operational.cpp.
//
// Everything here goes over the agent's protected session to the KDC (Impl::Session: DTLS-PSK
// with the joined PSK in SecProf_2, DTLS with the LDevID and the pinned KDC key in SecProf_3/4),
// renewed per the profile's session-key policy. SecProf_1 has no KDC: its state changes are local.
#include "agent_impl.h"
#include "secprof/domain/protocol.h"

namespace secprof::thing {

namespace {

// docs/DOMAIN.md "Missing readings" (draft-ietf-core-attacks-on-coap §2.2, selective blocking):
// before a state report, the counter of the last reading sent in this run and the number left
// unanswered since the last such report go to the KDC (op/sent), which audits a gap against what
// it received. Nothing to say before the first reading of a run. A failure fails the state change
// before anything changed: a thing whose reports do not get through sees a dead link.
Status ReportReadingsSent(Agent::Impl& impl) {
  if (impl.last_reading_sent == 0) return Ok();
  domain::ReadingsSent sent{static_cast<int64_t>(impl.last_reading_sent),
                            impl.readings_unacknowledged};
  SECPROF_ASSIGN_OR_RETURN(coap::Response r,
                           impl.Post(domain::path::kReadingsSent, domain::Encode(sent)));
  SECPROF_TRY(Expect(r, coap::kChanged, "readings report"));
  impl.readings_unacknowledged = 0;
  return Ok();
}

}  // namespace

Status Agent::GoOperational() {
  SECPROF_TRY(impl_->Check(Operation::kGoOperational));
  if (impl_->policy().kdc) {
    SECPROF_TRY(ReportReadingsSent(*impl_));
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response r,
        impl_->Post(domain::path::kState, domain::Encode(domain::StateReport{"operational"})));
    SECPROF_TRY(Expect(r, coap::kChanged, "state report"));
  }
  return impl_->Apply(Operation::kGoOperational, "in service");
}

Status Agent::EnterMaintenance() {
  SECPROF_TRY(impl_->Check(Operation::kEnterMaintenance));
  if (impl_->policy().kdc) {
    SECPROF_TRY(ReportReadingsSent(*impl_));
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response r,
        impl_->Post(domain::path::kState, domain::Encode(domain::StateReport{"maintenance"})));
    SECPROF_TRY(Expect(r, coap::kChanged, "state report"));
  }
  return impl_->Apply(Operation::kEnterMaintenance, "maintenance");
}

// Readings are numbered strictly increasingly across restarts (issue 9 item 6; docs/DOMAIN.md
// "Clone detection"): the KDC refuses a counter it has seen.
Status Agent::SendReading(int64_t centi) {
  SECPROF_TRY(impl_->Check(Operation::kSendReading));
  // A fresh counter; a new block is reserved in state.json before the first counter of it leaves.
  uint64_t counter = impl_->readings + 1;
  if (counter > impl_->st.reading_reserved) {
    ThingState next = impl_->st;
    next.reading_reserved = counter + kReadingBlock - 1;
    SECPROF_TRY(impl_->Commit(std::move(next)));
  }
  impl_->readings = counter;
  impl_->last_reading_sent = counter;
  auto r = impl_->Post(
      domain::path::kReport,
      domain::Encode(domain::Reading{impl_->st.serial, centi, static_cast<int64_t>(counter)}));
  Status done = r ? Expect(*r, coap::kChanged, "reading") : Status(Fail(r.error()));
  if (!done) ++impl_->readings_unacknowledged;  // reported with the next state report
  return done;
}

}  // namespace secprof::thing
