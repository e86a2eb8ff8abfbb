using System.Net;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Reliability.Tests.Infrastructure;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Testing;
using Xunit.Abstractions;

namespace IamFulfillment.Reliability.Tests;

/// <summary>
/// At-least-once in, exactly-once out: the same delivery many times, many deliveries of one ticket at once, several
/// tickets at once, and two workers of one process reaching for the same ticket or the same person.
/// </summary>
public sealed class DuplicateAndRaceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TicketSystemKind.ServiceNow)]
    [InlineData(TicketSystemKind.Jira)]
    public async Task SameDeliveryTenTimes_AndTenDeliveriesAtOnce_OnSeveralTicketsTogether_MakeOneChangeAndOneCommentPerTicket(TicketSystemKind system)
    {
        await using var s = await Scenario.StartAsync();
        var count = Heavy.Scale(6, 30);
        var tickets = Enumerable.Range(0, count).Select(_ => Tickets.NewEmployee(s.World))
            .Select(person => system == TicketSystemKind.ServiceNow ? Tickets.ServiceNowGrant(s.World, person) : Tickets.JiraGrant(s.World, person))
            .ToList();

        // Per ticket: one delivery sent ten times (as a retrying sender would), and ten distinct deliveries (as ten
        // updates would), all at once and all tickets together.
        var sends = tickets.SelectMany(t =>
        {
            var once = Tickets.Delivery(s.World, t);
            return Enumerable.Range(0, 10).Select(_ => once).Concat(Enumerable.Range(0, 10).Select(_ => Tickets.Delivery(s.World, t)));
        }).ToList();
        var answers = await Task.WhenAll(sends.Select(async d =>
        {
            using var response = await Tickets.SendAsync(s.Host.Http, d);
            return response.StatusCode;
        }));
        using var probe = new StorageProbe(Settings.Of(s.Host));
        await ExactlyOnce.WaitForAllAsync(s.Host.Store, probe.QueuedAsync, tickets, TimeSpan.FromSeconds(90));

        output.WriteLine($"{sends.Count} deliveries for {count} {system} tickets: {answers.Count(a => a == HttpStatusCode.Accepted)} accepted, {answers.Count(a => a == HttpStatusCode.OK)} duplicates");
        Assert.All(answers, a => Assert.True(a is HttpStatusCode.Accepted or HttpStatusCode.OK, $"answer {a}"));
        Assert.Equal(count, s.World.Graph.Changes.MembershipsAdded);
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, tickets);
    }

    /// <summary>
    /// Two work items of one ticket in one process: the first has made the directory change and waits for its answer
    /// when the second arrives. The second must wait for the ticket, not take it over: otherwise the change the first
    /// made is never recorded (its checkpoint fails) and the trail shows only the second's "already a member".
    /// </summary>
    [Fact]
    public async Task SecondDeliveryWhileTheFirstIsActing_WaitsForTheTicket_AndTheChangeIsRecordedOnce()
    {
        await using var s = await Scenario.StartAsync();
        var ticket = Tickets.ServiceNowGrant(s.World, Tickets.NewEmployee(s.World));
        var add = s.World.Graph.Holds.Add("POST", "/members/$ref", HoldPoint.AfterHandling);

        Assert.Equal(HttpStatusCode.Accepted, (await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket))).StatusCode);
        await add.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Accepted, (await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, ticket))).StatusCode);
        await Task.Delay(1500); // the second work item is taken and processed (or deferred) meanwhile
        add.Release();
        using var probe = new StorageProbe(Settings.Of(s.Host));
        await ExactlyOnce.WaitForAllAsync(s.Host.Store, probe.QueuedAsync, [ticket], TimeSpan.FromSeconds(60));

        Assert.Equal(1, s.World.Graph.Changes.MembershipsAdded);
        await ExactlyOnce.AssertAsync(s.World, s.Host.Store, [ticket]);
    }

    /// <summary>
    /// Separation of duties spans tickets: two grants for one person that conflict, decided at the same moment by two
    /// workers of one process, must be serialised by the person lock — one is granted, the other escalated.
    /// </summary>
    [Fact]
    public async Task ConflictingGrantsForOnePersonAtOnce_OneIsGrantedAndTheOtherEscalatedForSeparationOfDuties()
    {
        var policy = SandboxWorld.WritePolicyVariant(text => text.Replace(
            "\"entitlements\": [ \"finance-payments-approve\", \"vendor-master-edit\" ]",
            "\"entitlements\": [ \"finance-reports-read\", \"engineering-wiki\" ]",
            StringComparison.Ordinal));
        Assert.Contains("\"finance-reports-read\", \"engineering-wiki\" ]", File.ReadAllText(policy), StringComparison.Ordinal);
        await using var s = await Scenario.StartAsync(policyPath: policy);
        var person = Tickets.NewEmployee(s.World);
        var reports = Tickets.ServiceNowGrant(s.World, person, "finance-reports-read");
        var wiki = Tickets.ServiceNowGrant(s.World, person, "engineering-wiki");
        var first = s.World.Graph.Holds.Add("POST", "/members/$ref", HoldPoint.BeforeHandling);

        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, reports));
        await first.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await Tickets.SendAsync(s.Host.Http, Tickets.Delivery(s.World, wiki));
        await Task.Delay(1500); // the second ticket is taken meanwhile and must not decide before the first is recorded
        first.Release();
        var states = new[] { await s.Host.WaitForRoundAsync(reports.Ref, TimeSpan.FromSeconds(60)), await s.Host.WaitForRoundAsync(wiki.Ref, TimeSpan.FromSeconds(60)) };

        var outcomes = states.Select(st => st.Outcome).ToList();
        output.WriteLine($"reports: {states[0].Outcome} ({states[0].Rule}); wiki: {states[1].Outcome} ({states[1].Rule})");
        Assert.Equal(1, outcomes.Count(o => o == Outcome.Fulfilled));
        Assert.Single(states, st => st.Outcome == Outcome.Escalated && st.Rule == Rules.SodConflict);
        Assert.Equal(1, s.World.Graph.Changes.MembershipsAdded);
    }
}
