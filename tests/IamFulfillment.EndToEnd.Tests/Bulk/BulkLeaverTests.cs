using System.Diagnostics;
using System.Net;
using IamFulfillment.Core.Decisions;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Graph;
using Xunit.Abstractions;

namespace IamFulfillment.EndToEnd.Tests.Bulk;

/// <summary>A bulk HR event needs a safety brake above its size: 500 disables and their removals in the hour.</summary>
public sealed class BulkWorld : WorldFixture
{
    public const int Leavers = 500;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Processing:LeaseSeconds"] = "60";
    }

    protected override void EditPolicy(PolicyEditor policy) => policy
        .Set("safetyBrake", "maxDisables", Leavers)
        .Set("safetyBrake", "maxRemovals", Leavers * 2);
}

/// <summary>Issue 7: a bulk leaver event through both ITSMs, with Graph throttling requests inside its batches.</summary>
public sealed class BulkLeaverTests(BulkWorld f, ITestOutputHelper output) : IClassFixture<BulkWorld>
{
    [Fact]
    public async Task FiveHundredLeaversAtOnce_WithThrottlingInsideBatches_AreEachDisabledExactlyOnceAndNoTicketIsLost()
    {
        var leavers = Enumerable.Range(0, BulkWorld.Leavers)
            .Select(_ => f.World.NewEmployee("Engineering", "barbara", "engineering-team", "engineering-wiki", "licence-m365-e5"))
            .ToList();
        var tickets = leavers.Select((person, i) => Desk.For(i % 2 == 0 ? Itsm.ServiceNow : Itsm.Jira, f.World).Leaver(person)).ToList();
        var graph = f.World.Graph;
        graph.ClearLog();
        var changes = new ChangeWatch(graph);
        graph.Faults.Reseed(7);
        // A few percent of requests inside batches answer 429, as Entra does when a tenant's write budget runs low.
        graph.Faults.ThrottleProbability = 0.03;
        graph.Faults.Next(new SandboxFault(SandboxFaultKind.Throttle) { Scope = SandboxFaultScope.BatchItem }, times: 25);
        var clock = Stopwatch.StartNew();

        var answers = await Task.WhenAll(tickets.Select(async t =>
        {
            using var answer = await t.SendAsync(f.Host);
            return answer.StatusCode;
        }));
        var accepted = clock.Elapsed;
        await Eventually.HoldsAsync(() => tickets.All(t => t.Status == DeskStatus.Resolved), "Not every leaver ticket was resolved", TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(250));
        var done = clock.Elapsed;
        graph.Faults.Clear();

        Assert.All(answers, code => Assert.Equal(HttpStatusCode.Accepted, code));
        Assert.Equal(BulkWorld.Leavers, changes.Made.AccountsDisabled);
        Assert.Equal(BulkWorld.Leavers, changes.Made.SessionRevocations);
        Assert.Equal(2 * BulkWorld.Leavers, changes.Made.MembershipsRemoved);
        Assert.All(leavers, p => Assert.False(f.World.Account(p).AccountEnabled));
        Assert.All(leavers, p => Assert.Equal(["licence-m365-e5"], f.World.DemoGroupsOf(p)));

        // Exactly once on the wire too: one successful disable per account, though 429s were retried.
        var requests = graph.Requests;
        var disables = requests.Where(r => r.Method == "PATCH" && r.Status is >= 200 and < 300).GroupBy(r => r.Path).ToList();
        Assert.Equal(BulkWorld.Leavers, disables.Count);
        Assert.All(disables, d => Assert.Single(d));
        var throttledInBatches = requests.Count(r => r.InBatch && r.Status == 429);
        Assert.True(throttledInBatches >= 25, $"only {throttledInBatches} throttled batch items");

        // Every ticket: one round, one comment, one note, the outcome recorded.
        foreach (var ticket in tickets)
        {
            Assert.Single(ticket.CustomerComments);
            Assert.Single(ticket.InternalNotes);
            var state = await f.Host.Store.GetAsync(ticket.Ref, CancellationToken.None);
            Assert.Equal(Outcome.Fulfilled, state!.Outcome);
        }

        var calls = graph.HttpCalls;
        output.WriteLine($"{BulkWorld.Leavers} leavers: webhooks accepted in {accepted.TotalSeconds:0.0} s, all written back in {done.TotalSeconds:0.0} s.");
        output.WriteLine($"Graph: {calls.Count} HTTP calls ({calls.Count(c => c.BatchSize is not null)} batches of {calls.Where(c => c.BatchSize is not null).Select(c => c.BatchSize!.Value).DefaultIfEmpty().Average():0.0} on average) for {requests.Count} requests; {requests.Count(r => r.Status == 429)} answered 429 ({throttledInBatches} inside batches).");
        output.WriteLine($"ServiceNow calls {f.World.ServiceNow.Calls.Count}, Jira calls {f.World.Jira!.Calls.Count}.");
    }
}
