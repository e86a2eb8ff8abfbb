using System.Net;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests.Lifecycle;

/// <summary>Issue 7: leavers through ServiceNow and Jira — from HR only, matched by employee number, what the service may not do escalated.</summary>
public sealed class LeaverTests(DemoWorld f) : IClassFixture<DemoWorld>
{
    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task LeaverFromHr_IsDisabledRevokedAndRemovedFromGroupsExceptDynamicAndKeptOnes(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team", "engineering-wiki", "licence-m365-e5", "all-staff");
        var ticket = Desk.For(itsm, f.World).Leaver(dennis, employeeNumber: f.World.Account(dennis).EmployeeId);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        var account = f.World.Account(dennis);
        Assert.False(account.AccountEnabled);
        Assert.Equal(1, account.SessionRevocations);
        Assert.Equal(["all-staff", "licence-m365-e5"], f.World.DemoGroupsOf(dennis));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
        Text.Contains($"{dennis.DisplayName}'s sign-in is disabled, their sessions are revoked and 2 group membership(s) were removed.", ticket.Comment);
        Text.Contains("Kept licence-m365-e5: the policy keeps it for leavers", ticket.Note);
        Text.Contains("Left all-staff: dynamic membership follows the account's attributes.", ticket.Note);
    }

    [Fact]
    public async Task Leaver_TheWriteBackIsRecordedBeforeTheFirstChange_NamingEveryStep()
    {
        // Every leaver step is safe to repeat, so the record that a write-back may follow is saved while the safety
        // brake's counters are written and the stages run: while the disable is still on the wire, the state already
        // names every step as in flight (a crash now redoes them; a write-back on the ticket would prove them done).
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team", "engineering-wiki");
        var userId = f.World.Account(dennis).Id;
        var ticket = Desk.For(Itsm.ServiceNow, f.World).Leaver(dennis, employeeNumber: f.World.Account(dennis).EmployeeId);
        var disable = new HeldCalls(f.World.Graph.Holds.Add("PATCH", $"/users/{userId}"), f.World.Graph.Holds.Add("POST", "/$batch"));

        using (var accepted = await ticket.SendAsync(f.Host))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await disable.ArrivedAsync();
        var during = await f.Host.WaitForStateAsync(ticket.Ref, s => s.Phase == RoundPhase.WritingBack);
        disable.Release();

        var done = await f.Host.WaitForRoundAsync(ticket.Ref);

        Assert.Equal(RoundPhase.WritingBack, during!.Phase);
        Assert.Contains($"disable:{userId}", during.StepsInFlight);
        Assert.Contains($"revoke:{userId}", during.StepsInFlight);
        Assert.Equal(2, during.StepsInFlight.Count(step => step.StartsWith("remove:", StringComparison.Ordinal)));
        Assert.Equal((RoundPhase.Completed, Outcome.Fulfilled), (done.Phase, done.Outcome));
        Assert.Empty(done.StepsInFlight);
    }

    [Fact]
    public async Task Leaver_NoStageWaitsForTheWriteBacksRecord_TheTicketIsToldOnceItIsStored()
    {
        // The record only has to be stored before the ticket is told: every step is safe to repeat, so the memberships
        // are removed while it is still on its way.
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team", "engineering-wiki");
        var ticket = Desk.For(Itsm.ServiceNow, f.World).Leaver(dennis, employeeNumber: f.World.Account(dennis).EmployeeId);
        await using var host = await HostUnderTest.StartAsync(f.World, services: s => s.WrapTicketStore(inner =>
            new HoldsOneSave(inner, state => state.Phase == RoundPhase.WritingBack)));
        var done = await ticket.RunHoldingASaveAsync(host, async () =>
        {
            await Eventually.HoldsAsync(() => f.World.DemoGroupsOf(dennis).Count == 0, "the memberships were not removed while the write-back's record was being stored");
            await Task.Delay(200);
            Assert.Empty(ticket.CustomerComments);
        });

        Assert.Equal((RoundPhase.Completed, Outcome.Fulfilled), (done.Phase, done.Outcome));
        Assert.False(f.World.Account(dennis).AccountEnabled);
        Assert.Single(ticket.CustomerComments);
    }

    [Fact]
    public async Task Leaver_WhoseCountersTookHalfTheLease_ProvesItHasTheLeaseWithASaveBeforeTheFirstChange()
    {
        // A save is the lease check (it fails once another worker has taken the ticket). With less than half the lease
        // left when the brake's counters answer, one is stored before the account is disabled, as between stages.
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var ticket = Desk.For(Itsm.ServiceNow, f.World).Leaver(dennis, employeeNumber: f.World.Account(dennis).EmployeeId);
        var beforeTheDisable = new System.Collections.Concurrent.ConcurrentQueue<TicketState>();
        await using var host = await HostUnderTest.StartAsync(f.World, settings => settings["Processing:LeaseSeconds"] = "6", services: s => s
            .AddSingleton<ICounterStore>(sp => new SlowCounters(sp.GetRequiredService<TableCounterStore>(), TimeSpan.FromSeconds(3.5)))
            .WrapTicketStore(inner => new WatchesSaves(inner, state =>
            {
                if (f.World.Account(dennis).AccountEnabled)
                {
                    beforeTheDisable.Enqueue(state);
                }
            })));

        var done = await ticket.RunAsync(host);

        Assert.Equal((RoundPhase.Completed, Outcome.Fulfilled), (done.Phase, done.Outcome));
        Assert.Contains(beforeTheDisable, state => state.Phase == RoundPhase.Acting && state.LeaseOwner is not null);
        Assert.False(f.World.Account(dennis).AccountEnabled);
    }

    [Fact]
    public async Task JiraLeaverCancelledByAPerson_AfterARunRecordedItsWriteBackAndStopped_IsSkippedWithNoChange()
    {
        // A run saved the record that a write-back may follow (that happens before the first change) and then died;
        // meanwhile a person cancelled the request. The ticket is closed, but not by the service: it is left alone.
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var ticket = Desk.For(Itsm.Jira, f.World).Leaver(dennis, employeeNumber: f.World.Account(dennis).EmployeeId);
        var lease = await f.Host.Store.TryAcquireAsync(ticket.Ref, "run-that-died", TimeSpan.FromMinutes(1), CancellationToken.None);
        await f.Host.Store.SaveAsync(lease.State! with
        {
            LeaseOwner = null,
            LeaseUntil = null,
            Phase = RoundPhase.WritingBack,
            Outcome = Outcome.Fulfilled,
            WriteBackMarker = "[iamf:r0000000000000000dead:fulfilled]",
            StepsInFlight = [$"disable:{f.World.Account(dennis).Id}"],
        }, [], CancellationToken.None);
        f.World.Jira!.Transition(ticket.Number, "Cancel request", f.Demo["hedy"].JiraAccountId);

        var state = await ticket.RunAsync(f.Host);

        Assert.Contains(await f.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.Skipped && e.Data["reason"]!.Contains("closed", StringComparison.Ordinal));
        Assert.True(f.World.Account(dennis).AccountEnabled);
        Assert.True(f.World.Holds(dennis, "engineering-team"));
        Assert.Equal("Canceled", f.World.Jira.StatusOf(ticket.Number));
        Assert.Null(state.LeaseOwner);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task FutureDatedLeaver_IsScheduledAndCarriedOutOnlyWhenDue(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var due = DateTimeOffset.FromUnixTimeSeconds(f.World.ServiceNow.Time.GetUtcNow().AddSeconds(6).ToUnixTimeSeconds());
        var ticket = Desk.For(itsm, f.World).Leaver(dennis, terminationAt: due);

        var scheduled = await ticket.RunAsync(f.Host);

        Assert.Equal(RoundPhase.Scheduled, scheduled.Phase);
        Assert.Equal(due, scheduled.ScheduledFor);
        Assert.True(f.World.Account(dennis).AccountEnabled);
        Assert.True(f.World.Holds(dennis, "engineering-team"));
        Text.Contains("is approved and scheduled: it will be carried out at", ticket.Comment);
        Text.Contains("Nothing happens before then.", ticket.Comment);
        Assert.NotEqual(DeskStatus.Resolved, ticket.Status);

        var disabled = await f.Host.WaitForEventAsync(ticket.Ref, e => e.Kind == AuditKinds.ChangeApplied && e.Data["operation"] == "DisableAccount", TimeSpan.FromSeconds(30));
        await f.Host.WaitForEventAsync(ticket.Ref, e => e.Kind == AuditKinds.RoundCompleted);

        Assert.True(disabled.At >= due, $"disabled at {disabled.At:O}, due {due:O}");
        Assert.False(f.World.Account(dennis).AccountEnabled);
        Assert.False(f.World.Holds(dennis, "engineering-team"));
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task LeaverSynchronisedFromOnPremises_HasTheRestDoneAndTheDisableEscalated(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team").InDirectory(f.World, u => u.OnPremisesSyncEnabled = true);

        var ticket = await PartlyDoneAsync(itsm, dennis);

        Text.Contains("is synchronised from on-premises AD: its sign-in must be disabled there", ticket.Note);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task LeaverHoldingAnAdminRole_HasTheRestDoneAndTheRoleAndDisableEscalated(Itsm itsm)
    {
        var barbara = f.World.NewEmployee("Engineering", "margaret", "engineering-team").WithAdminRole(f.World);

        var ticket = await PartlyDoneAsync(itsm, barbara);

        Text.Contains("holds admin roles: disabling it needs a privileged role the service does not have", ticket.Note);
        Text.Contains("Memberships the service cannot remove: directory role User Administrator", ticket.Note);
        Assert.True(f.World.Graph.IsMember(f.Demo.AdminRoleId!, barbara.GraphId));
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task PrivilegedLeaver_LosesThePrivilegedGroupAndSessionsAndTheDisableGoesToPrivilegedAccess(Itsm itsm)
    {
        var edsger = f.World.NewEmployee("Engineering", "barbara", "engineering-team", "prod-admins");

        var ticket = await PartlyDoneAsync(itsm, edsger);

        Assert.False(f.World.Holds(edsger, "prod-admins"));
        Text.Contains("Production administrators (privileged", ticket.Note);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task LeaverFiledByAManagerInsteadOfHr_ChangesNothingAndGoesToAPerson(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = Desk.For(itsm, f.World).Leaver(dennis, requester: "barbara");

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.LeaverRequesterNotHr, state.Rule);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Assert.True(f.World.Account(dennis).AccountEnabled);
        Text.Contains("Leavers are processed only when HR files them", ticket.Note);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task LeaverWhoseEmployeeNumberIsSomeoneElses_ChangesNothingAndGoesToAPerson(Itsm itsm)
    {
        var dennis = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var colleague = f.World.NewEmployee("Engineering", "barbara", "engineering-team");
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = Desk.For(itsm, f.World).Leaver(dennis, employeeNumber: f.World.Account(colleague).EmployeeId);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.LeaverEmployeeNumberMismatch, state.Rule);
        Assert.Equal(0, changes.Made.DirectoryChanges);
        Assert.True(f.World.Account(dennis).AccountEnabled);
        Assert.True(f.World.Account(colleague).AccountEnabled);
        Text.Contains($"belongs to {colleague.DisplayName}", ticket.Note);
    }

    /// <summary>A leaver the service can only partly carry out: sessions revoked and groups removed, the account left enabled, the rest escalated.</summary>
    private async Task<DeskTicket> PartlyDoneAsync(Itsm itsm, DemoPerson leaver)
    {
        var ticket = Desk.For(itsm, f.World).Leaver(leaver);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.LeaverNotPermitted, state.Rule);
        Assert.Equal(Queues.Privileged, ticket.Queue);
        var account = f.World.Account(leaver);
        Assert.True(account.AccountEnabled);
        Assert.Equal(1, account.SessionRevocations);
        Assert.False(f.World.Holds(leaver, "engineering-team"));
        Text.Contains("Part of the work was done already; the rest needs a person.", ticket.Comment);
        Text.Contains("Done so far:", ticket.Note);
        Text.Contains($"revoke sign-in sessions of {leaver.GraphId}: done", ticket.Note);
        return ticket;
    }

    /// <summary>Counters that answer only after a delay (storage under contention).</summary>
    private sealed class SlowCounters(ICounterStore inner, TimeSpan delay) : ICounterStore
    {
        public async Task<CounterResult> TryRecordAsync(string key, string occurrenceId, int weight, int limit, TimeSpan window, DateTimeOffset now, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.TryRecordAsync(key, occurrenceId, weight, limit, window, now, cancellationToken);
        }
    }
}
