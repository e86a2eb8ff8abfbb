using System.Text;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.Reliability.Tests.Infrastructure;

/// <summary>
/// The promise, checked per ticket at the end of a run: a final state the requester can see (the ITSM state and one
/// customer comment), one internal note, the directory change made once and recorded, an intact audit chain.
/// Collects every broken promise before failing, so one run reports them all.
/// </summary>
public static class ExactlyOnce
{
    /// <param name="allowFailureEscalation">Faults may legitimately exhaust a ticket's retries: escalated with the failure explained is then a final state too.</param>
    /// <param name="strictAudit">Without lost answers, every change must be recorded as Applied (a lost answer makes the retry's record a no-op "already a member").</param>
    public static async Task AssertAsync(SandboxWorld world, ITicketStore store, IReadOnlyCollection<TestTicket> tickets, bool allowFailureEscalation = false, bool strictAudit = true)
    {
        var problems = new StringBuilder();
        var integrationUser = world.ServiceNow.Options.IntegrationUserName;
        foreach (var ticket in tickets)
        {
            void Problem(string text) => problems.Append(ticket.System).Append(' ').Append(ticket.Number).Append(" (").Append(ticket.Person).Append("): ").AppendLine(text);

            var state = await store.GetAsync(ticket.Ref, CancellationToken.None);
            var failureEscalated = state?.Outcome == Outcome.Escalated && state.Rule == Rules.ProcessingFailure;
            if (state is null || state.Phase != RoundPhase.Completed || state.LeaseOwner is not null)
            {
                Problem($"not finished: phase {state?.Phase}, lease {state?.LeaseOwner}");
                continue;
            }

            if (state.Outcome != ticket.Expected && !(allowFailureEscalation && failureEscalated))
            {
                Problem($"outcome {state.Outcome} ({state.Rule}), expected {ticket.Expected}");
            }

            var outcome = state.Outcome!.Value;
            if (ticket.System == TicketSystemKind.ServiceNow)
            {
                var journal = world.ServiceNow.JournalOf(ticket.Key).Where(j => j.CreatedBy == integrationUser).ToList();
                var comments = journal.Count(j => j.Element == "comments");
                var notes = journal.Count(j => j.Element == "work_notes");
                if (comments != 1 || notes != 1)
                {
                    Problem($"{comments} customer comment(s) and {notes} work note(s) by the service; expected one of each");
                }

                var item = world.ServiceNow.Record("sc_req_item", ticket.Key)!;
                var expectedState = outcome switch { Outcome.Fulfilled => "3", Outcome.NeedsInfo => "-5", Outcome.Rejected => "4", _ => null };
                if (expectedState is not null && item["state"] != expectedState)
                {
                    Problem($"item state {item["state"]}, expected {expectedState} for {outcome}");
                }

                if (outcome == Outcome.Escalated && string.IsNullOrEmpty(item.GetValueOrDefault("assignment_group")))
                {
                    Problem("escalated but not assigned to a queue");
                }
            }
            else
            {
                var jira = world.Jira!;
                var mine = jira.Comments(ticket.Key).Where(c => c.AuthorId == jira.Options.IntegrationAccountId).ToList();
                if (mine.Count(c => c.Public) != 1 || mine.Count(c => !c.Public) != 1)
                {
                    Problem($"{mine.Count(c => c.Public)} public comment(s) and {mine.Count(c => !c.Public)} internal note(s) by the service; expected one of each");
                }

                var status = jira.StatusOf(ticket.Key);
                var expectedStatus = outcome switch { Outcome.Fulfilled => "Resolved", Outcome.NeedsInfo => "Waiting for customer", Outcome.Rejected => "Declined", _ => "Escalated" };
                if (!string.Equals(status, expectedStatus, StringComparison.Ordinal))
                {
                    Problem($"status {status}, expected {expectedStatus} for {outcome}");
                }
            }

            var trail = await store.ReadTrailAsync(ticket.Ref, CancellationToken.None);
            foreach (var broken in AuditChain.Verify(trail))
            {
                Problem($"audit chain: {broken}");
            }

            var applied = trail.Where(e => e.Kind == AuditKinds.ChangeApplied).ToList();
            foreach (var step in applied.GroupBy(e => e.Data.GetValueOrDefault("step")))
            {
                if (step.Count(e => e.Data.GetValueOrDefault("status") == nameof(ChangeStatus.Applied)) > 1)
                {
                    Problem($"step {step.Key} recorded as applied {step.Count()} times");
                }
            }

            if (ticket.GroupId is { } group && outcome == Outcome.Fulfilled)
            {
                var person = world.Demo[ticket.Person].GraphId;
                if (!world.Graph.IsMember(group, person))
                {
                    Problem("fulfilled, but the person is not a member of the group");
                }

                var records = applied.Where(e => e.Data.GetValueOrDefault("operation") == "AddMember").ToList();
                var appliedCount = records.Count(e => e.Data.GetValueOrDefault("status") == nameof(ChangeStatus.Applied));
                if (strictAudit ? appliedCount != 1 : records.Count == 0)
                {
                    Problem($"the membership change is recorded {appliedCount} time(s) as applied ({records.Count} record(s) in all)");
                }
            }
        }

        Assert.True(problems.Length == 0, "Broken promises:\n" + problems);
    }

    /// <summary>Waits until every ticket's round is finished and the work queue has stayed empty for a moment (duplicates and retries drained).</summary>
    public static async Task WaitForAllAsync(ITicketStore store, Func<Task<int>> queued, IEnumerable<TestTicket> tickets, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var ticket in tickets)
        {
            var left = timeout - clock.Elapsed;
            await Testing.TicketWaits.WaitForRoundAsync(store, ticket.Ref, left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }

        var quiet = 0;
        while (quiet < 3 && clock.Elapsed < timeout + TimeSpan.FromSeconds(30))
        {
            quiet = await queued() == 0 ? quiet + 1 : 0;
            await Task.Delay(200);
        }
    }
}
