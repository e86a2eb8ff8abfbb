using System.Diagnostics;
using System.Net;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox;
using IamFulfillment.Testing;
using Xunit.Abstractions;
using GraphSandbox = IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// Faults injected in the ServiceNow, Jira and Graph sandboxes: throttling with Retry-After, server errors,
/// resets and timeouts at up to 20 % of all calls. Every ticket still ends once in its final state; waits are
/// honoured; a ticket that keeps failing is escalated with the failure explained.
/// </summary>
public sealed class FaultInjectionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwentyPercentFaultsOnEveryCall_EveryTicketEndsOnceInItsFinalState_AndNoRetryComesSoonerThanAsked()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var scale = Heavy.Scale(1, 5);
        var tickets = new List<TestTicket>();
        for (var i = 0; i < scale; i++)
        {
            tickets.AddRange(Enumerable.Range(0, 4).Select(_ => Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World))));
            tickets.Add(Tickets.ServiceNowNeedsInfo(s.World, Tickets.NewEmployee(s.World)));
            tickets.Add(Tickets.ServiceNowPrivileged(s.World, Tickets.NewEmployee(s.World)));
            tickets.Add(Tickets.ServiceNowRejected(s.World, Tickets.NewEmployee(s.World)));
            tickets.AddRange(Enumerable.Range(0, 3).Select(_ => Tickets.JiraGrant(s.World, Tickets.NewEmployee(s.World))));
            tickets.Add(Tickets.JiraNeedsInfo(s.World, Tickets.NewEmployee(s.World)));
            tickets.Add(Tickets.JiraMfaReset(s.World, Tickets.NewEmployee(s.World)));
        }

        FaultSettings.Inject(s.World, rate: 0.20, seed: 5);
        var clock = Stopwatch.StartNew();
        foreach (var ticket in tickets)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket))).StatusCode);
        }

        using var probe = new StorageProbe(Settings.Of(s.Host));
        try
        {
            await ExactlyOnce.WaitForAllAsync(s.Host.Store, probe.QueuedAsync, tickets, TimeSpan.FromSeconds(Heavy.Scale(90, 300)));
        }
        catch (TimeoutException)
        {
            output.WriteLine(await Diagnostics.DescribeAsync(s.Host.Store, tickets, s.Host.Logs));
            throw;
        }

        var elapsed = clock.Elapsed;
        var faults = FaultSettings.Report(s.World);
        FaultSettings.Clear(s.World);

        var failures = 0;
        foreach (var ticket in tickets)
        {
            failures += (await s.Host.TrailAsync(ticket.Ref)).Count(e => e.Kind == AuditKinds.Failure);
        }

        var (violations, margin, checkedWaits) = FaultSettings.RetryAfterCompliance(s.World, [.. tickets.Select(t => t.Key)]);
        output.WriteLine($"{tickets.Count} tickets through 20 % faults in {elapsed.TotalSeconds:0.0} s; {failures} attempt(s) failed and were re-queued.");
        output.WriteLine(faults);
        output.WriteLine($"Retry-After checked on {checkedWaits} throttled call(s); smallest margin {margin?.TotalMilliseconds:0} ms.");
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, tickets);
        Assert.Empty(violations);
        Assert.Equal(tickets.Count(t => t.GroupId is not null), s.World.Graph.Changes.MembershipsAdded);
        Assert.Equal(tickets.Count(t => t.Expected == Outcome.Fulfilled && t.GroupId is null), s.World.Graph.Outbox.Count);
    }

    [Fact]
    public async Task RetryAfter_TheSameCallIsNeverMadeAgainSoonerThanEachSystemAsked()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var wait = TimeSpan.FromSeconds(2);
        var sn = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        var jira = Tickets.JiraGrant(s.World, Tickets.NewEmployee(s.World), "engineering-wiki");
        s.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", "/sc_req_item/" + sn.Key, retryAfterSeconds: 2);
        s.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.RateLimited, "PATCH", "/sc_req_item/" + sn.Key, retryAfterSeconds: 2);
        s.World.Jira!.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", $"/rest/api/3/issue/{jira.Key}", retryAfterSeconds: 2);
        s.World.Jira.Faults.Enqueue(SandboxFaultKind.Unavailable, "POST", $"/issue/{jira.Key}/transitions", retryAfterSeconds: 2);
        var group = DemoOrganisation.Groups[Tickets.Entitlement];
        s.World.Graph.Faults.Next(FaultSettings.GraphThrottle("POST", $"/groups/{group}/members/$ref", wait), times: 2);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, sn));
        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, jira));
        await s.Host.WaitForRoundAsync(sn.Ref, TimeSpan.FromSeconds(60));
        await s.Host.WaitForRoundAsync(jira.Ref, TimeSpan.FromSeconds(60));

        var (violations, margin, checkedWaits) = FaultSettings.RetryAfterCompliance(s.World, [sn.Key, jira.Key]);
        var graphGaps = FaultSettings.GraphGapsAfterThrottling(s.World, $"/groups/{group}/members/$ref");
        output.WriteLine($"ServiceNow/Jira: {checkedWaits} waits checked, smallest margin {margin?.TotalMilliseconds:0} ms; Graph gaps after 429: {string.Join(", ", graphGaps.Select(g => $"{g.Gap.TotalMilliseconds:0} ms"))}");
        Assert.Empty(violations);
        Assert.Equal(4, checkedWaits);
        Assert.Equal(2, graphGaps.Count);
        Assert.All(graphGaps, g => Assert.True(g.Gap >= wait, $"{g.Call} was sent again after {g.Gap.TotalMilliseconds:0} ms; Graph asked for {wait.TotalSeconds} s"));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [sn, jira]);
    }

    /// <summary>A wait longer than the connector may sleep in-process (Retry:MaxRetryAfter) is not slept through by a worker: the ticket is re-queued to become visible after it.</summary>
    [Fact]
    public async Task RetryAfterLongerThanAWorkerMayWait_IsWaitedOutOnTheQueue()
    {
        await using var s = await Scenario.StartAsync(settings =>
        {
            FaultSettings.ForFaults(settings);
            settings["ServiceNow:Retry:MaxRetryAfter"] = "00:00:01";
        });
        var sn = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        s.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.RateLimited, "GET", "/sc_req_item/" + sn.Key, retryAfterSeconds: 3);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, sn));
        await s.Host.WaitForRoundAsync(sn.Ref, TimeSpan.FromSeconds(60));

        var reads = s.World.ServiceNow.Calls.Where(c => c.Method == "GET" && c.Path.EndsWith("/sc_req_item/" + sn.Key, StringComparison.Ordinal)).OrderBy(c => c.ReceivedAt).ToList();
        var trail = await s.Host.TrailAsync(sn.Ref);
        Assert.Equal(SandboxFaultKind.RateLimited, reads[0].Fault);
        Assert.True(reads[1].ReceivedAt - reads[0].At >= TimeSpan.FromSeconds(3), $"read again after {(reads[1].ReceivedAt - reads[0].At).TotalMilliseconds:0} ms");
        Assert.Contains(trail, e => e.Kind == AuditKinds.Failure && e.Data["failure"]!.Contains("429", StringComparison.Ordinal));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [sn]);
    }

    [Fact]
    public async Task BackoffWithoutRetryAfter_IsBounded()
    {
        await using var s = await Scenario.StartAsync(settings => FaultSettings.ForFaults(settings));
        var sn = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        s.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.ServerError, "GET", "/sc_req_item/" + sn.Key, times: 6);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, sn));
        await s.Host.WaitForRoundAsync(sn.Ref, TimeSpan.FromSeconds(60));

        var reads = s.World.ServiceNow.Calls.Where(c => c.Method == "GET" && c.Path.EndsWith("/sc_req_item/" + sn.Key, StringComparison.Ordinal)).OrderBy(c => c.ReceivedAt).ToList();
        var gaps = reads.Zip(reads.Skip(1), (a, b) => b.ReceivedAt - a.At).ToList();
        output.WriteLine($"gaps between retried reads: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:0} ms"))}");

        // In-process waits are capped at Retry:MaxDelay (0.8 s), queue re-tries at Processing:MaxRetryDelaySeconds (2 s); allow for a busy machine.
        Assert.Equal(7, reads.Count);
        Assert.All(gaps, g => Assert.True(g < TimeSpan.FromSeconds(4), $"a retry waited {g.TotalMilliseconds:0} ms"));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [sn]);
    }

    [Theory]
    [InlineData(TicketSystemKind.ServiceNow)]
    [InlineData(TicketSystemKind.Jira)]
    public async Task GraphFailingEveryTime_AfterTheRetryBudget_TheTicketIsEscalatedWithTheFailureExplained(TicketSystemKind system)
    {
        await using var s = await Scenario.StartAsync(settings =>
        {
            FaultSettings.ForFaults(settings, maxAttempts: 3);
            settings["Graph:Retry:MaxAttempts"] = "2";
        });
        var person = Tickets.NewEmployee(s.World);
        var ticket = system == TicketSystemKind.ServiceNow ? Tickets.ServiceNowGrant(s.World, person) : Tickets.JiraGrant(s.World, person);
        s.World.Graph.Faults.Next(new GraphSandbox.SandboxFault(GraphSandbox.SandboxFaultKind.ServerError) { Method = "POST", PathContains = "/members/$ref" }, times: 1000);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket));
        var state = await s.Host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.ProcessingFailure, state.Rule);
        Assert.False(s.World.Graph.IsMember(ticket.GroupId!, s.World.Demo[person].GraphId));
        var note = FailureNote(s.World, ticket);
        output.WriteLine(note);
        Assert.Contains("could not complete this request after 3 attempt(s)", note, StringComparison.Ordinal);
        Assert.Contains("Graph", note, StringComparison.Ordinal);
        Assert.Contains("500", note, StringComparison.Ordinal);
        var trail = await s.Host.TrailAsync(ticket.Ref);
        Assert.Equal(3, trail.Count(e => e.Kind == AuditKinds.Failure && e.Data.ContainsKey("attempt")));
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket with { Expected = Outcome.Escalated }]);
    }

    /// <summary>The service's internal note, as plain text (Jira's is wiki-escaped).</summary>
    internal static string FailureNote(SandboxWorld world, TestTicket ticket) => ticket.System == TicketSystemKind.ServiceNow
        ? world.ServiceNow.JournalOf(ticket.Key).Single(j => j.Element == "work_notes").Value
        : world.Jira!.Comments(ticket.Key).Single(c => !c.Public && c.AuthorId == world.Jira.Options.IntegrationAccountId).Body.Replace("\\", "", StringComparison.Ordinal);
}
