using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// Reconciliation through the standalone host (<c>Processing:ReconciliationMinutes</c>): a ticket whose webhook never
/// arrived is found by the next sweep and run to its outcome, in both ITSMs; an open ticket the service ran since its
/// last change (its own write-back is that change) is not run again, sweep after sweep.
/// </summary>
public sealed class ReconciliationTests
{
    [Fact]
    public async Task TicketsWhoseWebhookNeverArrived_AreRunByTheNextSweep_AndATicketRunSinceItsChangeIsLeftAlone()
    {
        await TestStorage.EnsureSharedAsync();
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = true });
        await using var host = await HostUnderTest.StartAsync(world, settings => settings["Processing:ReconciliationMinutes"] = "0.02"); // every 1.2 s
        // Run by their webhooks, and left open (waiting for the customer): the service's own write-back is their last change.
        var runByWebhook = Desk.For(Itsm.ServiceNow, world).MfaReset(world.NewEmployee(), omitVerifiedAt: true);
        var runByWebhookInJira = Desk.For(Itsm.Jira, world).MfaReset(world.NewEmployee(), omitVerifiedAt: true);
        Assert.Equal(Outcome.NeedsInfo, (await runByWebhook.RunAsync(host)).Outcome);
        Assert.Equal(Outcome.NeedsInfo, (await runByWebhookInJira.RunAsync(host)).Outcome);

        // Filed, but their webhooks are lost: nothing is sent.
        var lost = Desk.For(Itsm.ServiceNow, world).Leaver(world.NewEmployee());
        var lostInJira = Desk.For(Itsm.Jira, world).Leaver(world.NewEmployee());

        foreach (var ticket in new[] { lost, lostInJira })
        {
            var state = await host.WaitForRoundAsync(ticket.Ref, TimeSpan.FromSeconds(60));
            Assert.Equal(Outcome.Fulfilled, state.Outcome);
            var started = Assert.Single(await host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.ProcessingStarted);
            Assert.Equal(Reconciliation.Reason, started.Data["reason"]);
            Assert.Equal(DeskStatus.Resolved, ticket.Status);
        }

        // Several sweeps later, no ticket was looked at again: each was recorded after its last change.
        DeskTicket[] all = [runByWebhook, runByWebhookInJira, lost, lostInJira];
        var trails = new List<int>();
        foreach (var ticket in all)
        {
            trails.Add((await host.TrailAsync(ticket.Ref)).Count);
        }

        var searches = world.Jira!.Calls.Count(c => c.Path == "/rest/api/3/search/jql");
        await Task.Delay(TimeSpan.FromSeconds(4));
        for (var i = 0; i < all.Length; i++)
        {
            var trail = await host.TrailAsync(all[i].Ref);
            Assert.Equal(trails[i], trail.Count);
            Assert.Single(trail, e => e.Kind == AuditKinds.ProcessingStarted);
        }

        Assert.True(world.Jira.Calls.Count(c => c.Path == "/rest/api/3/search/jql") > searches, "no sweep ran meanwhile");
    }

    [Fact]
    public async Task AJiraRequestOnADeskIntakeDoesNotTake_IsNotQueuedBySweepsEither()
    {
        await TestStorage.EnsureSharedAsync();
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = true });
        await using var host = await HostUnderTest.StartAsync(world, settings =>
        {
            settings["Processing:ReconciliationMinutes"] = "0.02";
            settings["Jira:ServiceDeskIds"] = "999"; // not the demo's desk
        });
        var elsewhere = Desk.For(Itsm.Jira, world).Leaver(world.NewEmployee());
        var lost = Desk.For(Itsm.ServiceNow, world).Leaver(world.NewEmployee());

        Assert.Equal(Outcome.Fulfilled, (await host.WaitForRoundAsync(lost.Ref, TimeSpan.FromSeconds(60))).Outcome); // sweeps ran
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.Contains(world.Jira!.Calls, c => c.Path == "/rest/api/3/search/jql"); // searched, and found it
        Assert.Null(await host.Store.GetAsync(elsewhere.Ref, CancellationToken.None));
        Assert.Equal(DeskStatus.Open, elsewhere.Status);
    }
}
