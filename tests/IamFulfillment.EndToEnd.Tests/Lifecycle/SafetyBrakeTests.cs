using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;

namespace IamFulfillment.EndToEnd.Tests.Lifecycle;

/// <summary>A safety brake of two disables per hour, so a bad HR feed is stopped after the second.</summary>
public sealed class BrakeWorld : WorldFixture
{
    protected override void EditPolicy(PolicyEditor policy) => policy.Set("safetyBrake", "maxDisables", 2);
}

/// <summary>Issue 7: the safety brake pauses destructive work beyond the cap and escalates, across both ITSMs.</summary>
public sealed class SafetyBrakeTests(BrakeWorld f) : IClassFixture<BrakeWorld>
{
    [Fact]
    public async Task DisablesBeyondTheCap_AreNotDoneButEscalatedToOnCall_AndTheWorkStaysPaused()
    {
        var leavers = Enumerable.Range(0, 4).Select(_ => f.World.NewEmployee("Engineering", "barbara", "engineering-team")).ToList();
        var serviceNow = Desk.For(Itsm.ServiceNow, f.World);
        var jira = Desk.For(Itsm.Jira, f.World);
        var tickets = new[] { serviceNow.Leaver(leavers[0]), jira.Leaver(leavers[1]), jira.Leaver(leavers[2]), serviceNow.Leaver(leavers[3]) };

        var outcomes = new List<Outcome?>();
        foreach (var ticket in tickets)
        {
            outcomes.Add((await ticket.RunAsync(f.Host)).Outcome);
        }

        Assert.Equal([Outcome.Fulfilled, Outcome.Fulfilled, Outcome.Escalated, Outcome.Escalated], outcomes);
        Assert.Equal([false, false, true, true], leavers.Select(p => f.World.Account(p).AccountEnabled));
        Assert.True(f.World.Holds(leavers[2], "engineering-team"));
        foreach (var braked in tickets[2..])
        {
            Assert.Equal(Queues.OnCall, braked.Queue);
            Text.Contains("Safety brake: 2 disable operation(s) in the last 60 minutes", braked.Note);
            Text.Contains("That kind of work is paused until a person looks. Nothing was changed.", braked.Note);
            var state = await f.Host.Store.GetAsync(braked.Ref, CancellationToken.None);
            Assert.Equal(Rules.SafetyBrake, state!.Rule);
            var trail = await f.Host.TrailAsync(braked.Ref);
            Assert.Contains(trail, e => e.Kind == AuditKinds.BrakeEngaged);

            // The write-back's record was saved while the counters were written; the brake's escalation replaced it.
            Assert.Empty(state.StepsInFlight);
            Assert.EndsWith(":escalated]", state.WriteBackMarker, StringComparison.Ordinal);
            Assert.DoesNotContain(trail, e => e.Kind == AuditKinds.ChangeApplied);
        }
    }
}
