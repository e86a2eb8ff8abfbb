using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox;
using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests.Grants;

/// <summary>
/// Time-bound access ends by itself: the expiry sweep (<c>Processing:ExpirySweepMinutes</c>) removes a grant once its
/// end date has passed, tells the ticket, and records it in the ticket's audit trail.
/// </summary>
public sealed class GrantExpiryTests(DemoWorld f) : IClassFixture<DemoWorld>
{
    [Fact]
    public async Task TimeBoundGrant_AfterItsEndDate_IsRemovedByTheSweep_AndTheTicketAndTheTrailSaySo()
    {
        await using var s = await ExpiryHost.StartAsync(f.World);
        var ada = f.World.NewEmployee("Finance", "grace");
        var ticket = Desk.Grant(ada, "finance-reports-read", endInDays: 1).ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await ticket.RunAsync(s.Host)).Outcome);

        var removed = await s.SweepAfterAsync(TimeSpan.FromDays(3));

        Assert.Equal(1, removed);
        Assert.False(f.World.Holds(ada, "finance-reports-read"));
        Text.Contains("ended on", ticket.CustomerComments[^1]);
        Text.Contains("was removed", ticket.CustomerComments[^1]);
        var trail = await s.Host.TrailAsync(ticket.Ref);
        Assert.Contains(trail, e => e.Kind == AuditKinds.GrantExpired && e.Data["status"] == "Applied");
        Assert.Empty(AuditChain.Verify(trail));
        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.Zero)); // done once, not again
    }

    [Fact]
    public async Task TimeBoundGrant_SameAccessGrantedLongerByAnotherTicket_IsKept()
    {
        await using var s = await ExpiryHost.StartAsync(f.World);
        var alan = f.World.NewEmployee("Finance", "grace");
        var shorter = Desk.Grant(alan, "engineering-wiki", endInDays: 1).ApprovedBy("grace");
        var longer = Desk.Grant(alan, "engineering-wiki", endInDays: 60).ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await shorter.RunAsync(s.Host)).Outcome);
        Assert.Equal(Outcome.Fulfilled, (await longer.RunAsync(s.Host)).Outcome);

        await s.SweepAfterAsync(TimeSpan.FromDays(3));

        Assert.True(f.World.Holds(alan, "engineering-wiki"));
        Assert.Contains(await s.Host.TrailAsync(shorter.Ref), e => e.Kind == AuditKinds.GrantExpired && e.Data["status"] == "kept");
    }

    [Fact]
    public async Task TimeBoundGrant_GrantedAgainWithNoEndDate_IsNoLongerRemovedAtItsEnd()
    {
        await using var s = await ExpiryHost.StartAsync(f.World);
        var nils = f.World.NewEmployee("Finance", "grace");
        var temporary = Desk.Grant(nils, "engineering-wiki", endInDays: 1).ApprovedBy("grace");
        var forGood = Desk.Grant(nils, "engineering-wiki").ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await temporary.RunAsync(s.Host)).Outcome);
        Assert.Equal(Outcome.Fulfilled, (await forGood.RunAsync(s.Host)).Outcome);

        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(3)));

        Assert.True(f.World.Holds(nils, "engineering-wiki"));
        var lifted = Assert.Single(await s.Host.TrailAsync(forGood.Ref), e => e.Kind == AuditKinds.GrantEndLifted);
        Assert.Equal(temporary.Ref.ToString(), lifted.Data["grantedBy"]);
    }

    [Fact]
    public async Task TimeBoundGrant_WhoseRecordFailsToSave_KeepsTheRemovalInTheTrail()
    {
        // The removal is made and the ticket told, then storage refuses the save that records it: the save after the
        // failure stores the record, never a chain head whose events are missing.
        await using var s = await ExpiryHost.StartAsync(f.World, services => services.WrapTicketStore(inner => new FailsOneSave(
            inner, (_, events) => events.Any(e => e.Kind == AuditKinds.GrantExpired))));
        var host = s.Host;
        var failing = host.App.Services.GetRequiredService<FailsOneSave>();
        var grace = f.World.NewEmployee("Finance", "grace");
        var ticket = Desk.Grant(grace, "finance-reports-read", endInDays: 1).ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await ticket.RunAsync(host)).Outcome);

        await s.SweepAfterAsync(TimeSpan.FromDays(3));

        Assert.True(failing.Refused.IsCompleted);
        Assert.False(f.World.Holds(grace, "finance-reports-read"));
        var state = await host.Store.GetAsync(ticket.Ref, CancellationToken.None);
        var trail = await host.TrailAsync(ticket.Ref);
        Assert.Contains(trail, e => e.Kind == AuditKinds.GrantExpired && e.Data["status"] == "Applied");
        Assert.Equal(trail[^1].Sequence, state!.AuditSequence);
        Assert.Equal(trail[^1].Hash, state.AuditHead);
        Assert.Null(state.LeaseOwner);
    }

    [Fact]
    public async Task TimeBoundGrant_WhoseRemovalIsRefused_IsToldOnce_KeptTrying_AndRemovedOnceAllowed()
    {
        // The group became role-assignable after the grant: the service may no longer change its members.
        await using var s = await ExpiryHost.StartAsync(f.World);
        var ken = f.World.NewEmployee("Finance", "grace");
        var ticket = await FulfilledTimeBoundGrantAsync(s, ken);
        var notesBefore = ticket.InternalNotes.Count;

        await WhileRoleAssignableAsync(async () =>
        {
            Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(3)));
            Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromMinutes(16))); // tried again 15 minutes after the first refusal
        });

        Assert.True(f.World.Holds(ken, "finance-reports-read"));
        var told = Assert.Single(ticket.InternalNotes.Skip(notesBefore));
        Text.Contains("ESCALATION — needs a person", told);
        Text.Contains("could not remove", told);
        Text.Contains("NotPermitted", told);
        Assert.Equal(DeskStatus.Resolved, ticket.Status); // left as it was: not reopened to be decided again
        var refused = (await s.Host.TrailAsync(ticket.Ref)).Where(e => e.Kind == AuditKinds.GrantExpired).ToList();
        Assert.Equal("NotPermitted", Assert.Single(refused).Data["status"]);

        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromMinutes(25))); // then after 30 minutes: not yet
        Assert.Equal(1, await s.SweepAfterAsync(TimeSpan.FromMinutes(6)));
        Assert.False(f.World.Holds(ken, "finance-reports-read"));
        var trail = await s.Host.TrailAsync(ticket.Ref);
        Assert.Equal(["NotPermitted", "Applied"], trail.Where(e => e.Kind == AuditKinds.GrantExpired).Select(e => e.Data["status"]));
        Assert.Empty(AuditChain.Verify(trail));
    }

    [Fact]
    public async Task RefusedRemoval_WhoseNoteCannotBeWritten_IsInTheTrailAllTheSame_AndTheNoteFollowsOnce()
    {
        await using var s = await ExpiryHost.StartAsync(f.World);
        var frances = f.World.NewEmployee("Finance", "grace");
        var ticket = await FulfilledTimeBoundGrantAsync(s, frances);
        var notesBefore = ticket.InternalNotes.Count;

        await WhileRoleAssignableAsync(async () =>
        {
            f.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.ServerError, "PATCH", "/sc_req_item/" + ticket.Ref.Key, times: 10);
            await s.SweepAfterAsync(TimeSpan.FromDays(3));
            f.World.ServiceNow.Faults.Clear();
            Assert.Equal(notesBefore, ticket.InternalNotes.Count);
            Assert.Single(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.GrantExpired);
            await s.SweepAfterAsync(TimeSpan.FromMinutes(16));
        });

        Text.Contains("could not remove", Assert.Single(ticket.InternalNotes.Skip(notesBefore)));
        var refused = Assert.Single(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.GrantExpired);
        Assert.Equal("NotPermitted", refused.Data["status"]);
    }

    [Fact]
    public async Task GrantsWhoseRemovalKeepsBeingRefused_DoNotHoldUpTheExpiriesBehindThem()
    {
        // A sweep takes the soonest due grants, so many at a time: a refused one that stayed first would be taken again
        // at every sweep, and a full sweep of them would keep every later expiry from ever happening.
        await using var s = await ExpiryHost.StartAsync(f.World);
        var ida = f.World.NewEmployee("Finance", "grace");
        var refused = await FulfilledTimeBoundGrantAsync(s, ida);
        var later = Desk.Grant(ida, "engineering-wiki", endInDays: 2).ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await later.RunAsync(s.Host)).Outcome);

        await WhileRoleAssignableAsync(async () =>
        {
            Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(3), max: 1));
            Assert.Equal(1, await s.SweepAfterAsync(TimeSpan.FromMinutes(5), max: 1));
        });

        Assert.False(f.World.Holds(ida, "engineering-wiki"));
        Assert.True(f.World.Holds(ida, "finance-reports-read"));
        Assert.Single(await s.Host.TrailAsync(refused.Ref), e => e.Kind == AuditKinds.GrantExpired);
        Assert.Contains(await s.Host.TrailAsync(later.Ref), e => e.Kind == AuditKinds.GrantExpired && e.Data["status"] == "Applied");
    }

    [Fact]
    public async Task RemovalWhoseTicketCouldNotBeTold_IsNotMadeAgain_WhenRetried_ButTheTicketIsToldThen()
    {
        // The first sweep removes the access but cannot write to the ticket; meanwhile the person is made a member of the
        // group again (granted since, by a person or another ticket). The retry tells the ticket and leaves that alone.
        await using var s = await ExpiryHost.StartAsync(f.World);
        var joan = f.World.NewEmployee("Finance", "grace");
        var ticket = await FulfilledTimeBoundGrantAsync(s, joan);
        try
        {
            f.World.ServiceNow.Faults.Enqueue(SandboxFaultKind.ServerError, "PATCH", "/sc_req_item/" + ticket.Ref.Key, times: 10);
            Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(3)));
        }
        finally
        {
            f.World.ServiceNow.Faults.Clear();
        }

        Assert.False(f.World.Holds(joan, "finance-reports-read"));
        f.World.Graph.AddMember(DemoOrganisation.Groups["finance-reports-read"], joan.GraphId);

        Assert.Equal(1, await s.SweepAfterAsync(TimeSpan.FromMinutes(16)));

        Assert.True(f.World.Holds(joan, "finance-reports-read"));
        Text.Contains("was removed", ticket.CustomerComments[^1]);
        Assert.Single(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.GrantExpired);
        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(2))); // ended: not tried again
    }

    [Fact]
    public async Task TimeBoundGrant_WhoseTicketWasDeletedFromTheItsm_IsRemoved_AndEnds()
    {
        await using var s = await ExpiryHost.StartAsync(f.World);
        var kurt = f.World.NewEmployee("Finance", "grace");
        var ticket = await FulfilledTimeBoundGrantAsync(s, kurt);
        Assert.True(f.World.ServiceNow.Tables.Delete("sc_req_item", ticket.Ref.Key));

        Assert.Equal(1, await s.SweepAfterAsync(TimeSpan.FromDays(3)));

        Assert.False(f.World.Holds(kurt, "finance-reports-read"));
        Assert.Contains(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.GrantExpired && e.Data["status"] == "Applied");
        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(2)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Grant_PostponedOrEndedByAnotherSweep_AfterThisSweepReadIt_IsLeftAlone(bool ended)
    {
        // Two instances sweep the same registry: between this sweep's read of the due grants and its lease on the
        // ticket, the other one tried the grant (its removal refused, so postponed) or ended it.
        await using var s = await ExpiryHost.StartAsync(f.World, services => services.WrapTicketStore(inner => new BeforeLease(inner)));
        var lily = f.World.NewEmployee("Finance", "grace");
        var ticket = await FulfilledTimeBoundGrantAsync(s, lily);
        var registry = s.Host.App.Services.GetRequiredService<IGrantRegistry>();
        s.Host.App.Services.GetRequiredService<BeforeLease>().BeforeNext(async () =>
        {
            var grant = Assert.Single(await registry.ActiveAsync(DemoOrganisation.Groups["finance-reports-read"], lily.GraphId, CancellationToken.None));
            await (ended ? registry.CompleteAsync(grant, CancellationToken.None) : registry.PostponeAsync(grant, grant.Until.AddDays(10), CancellationToken.None));
        });

        Assert.Equal(0, await s.SweepAfterAsync(TimeSpan.FromDays(3)));

        Assert.True(f.World.Holds(lily, "finance-reports-read"));
        Assert.DoesNotContain(await s.Host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.GrantExpired);
        // As the other sweep left it: ended, or due once, at its retry (not postponed again by this one).
        var left = (await registry.DueAsync(DateTimeOffset.UtcNow.AddYears(1), 100, CancellationToken.None)).Where(g => g.UserId == lily.GraphId).ToList();
        Assert.Equal(ended ? 0 : 1, left.Count);
        Assert.All(left, g => Assert.Equal((1, g.Until.AddDays(10)), (g.Attempts, g.RetryAt!.Value)));
    }

    /// <summary>Runs an action once, before the next lease is taken (as another sweep would act in between).</summary>
    private sealed class BeforeLease(ITicketStore inner) : DelegatingTicketStore(inner)
    {
        public void BeforeNext(Func<Task> action) => _once = action;

        public override async Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _once, null) is { } once)
            {
                await once();
            }

            return await base.TryAcquireAsync(ticket, owner, duration, cancellationToken);
        }

        private Func<Task>? _once;
    }

    private ServiceNowDesk Desk => new(f.World);

    /// <summary>A grant of finance-reports-read ending tomorrow, fulfilled by the expiry host.</summary>
    private async Task<ServiceNowTicket> FulfilledTimeBoundGrantAsync(ExpiryHost s, DemoPerson person)
    {
        var ticket = Desk.Grant(person, "finance-reports-read", endInDays: 1).ApprovedBy("grace");
        Assert.Equal(Outcome.Fulfilled, (await ticket.RunAsync(s.Host)).Outcome);
        return ticket;
    }

    /// <summary>
    /// Runs <paramref name="sweeps"/> while finance-reports-read is role-assignable (the service may no longer change its
    /// members), then makes it assignable again and clears any ServiceNow faults left, also when an assertion failed.
    /// </summary>
    private async Task WhileRoleAssignableAsync(Func<Task> sweeps)
    {
        var group = DemoOrganisation.Groups["finance-reports-read"];
        f.World.Graph.UpdateGroup(group, g => g.IsAssignableToRole = true);
        try
        {
            await sweeps();
        }
        finally
        {
            f.World.ServiceNow.Faults.Clear();
            f.World.Graph.UpdateGroup(group, g => g.IsAssignableToRole = false);
        }
    }

    /// <summary>A host of its own (own tables, grant registry and clock), so moving its clock on days touches no other test.</summary>
    private sealed class ExpiryHost : IAsyncDisposable
    {
        private readonly AdjustableClock _clock;

        private ExpiryHost(HostUnderTest host, AdjustableClock clock) => (Host, _clock) = (host, clock);

        public HostUnderTest Host { get; }

        public static async Task<ExpiryHost> StartAsync(SandboxWorld world, Action<IServiceCollection>? services = null)
        {
            var clock = new AdjustableClock();
            return new ExpiryHost(await HostUnderTest.StartAsync(world, clock: clock, services: services), clock);
        }

        /// <summary>Moves the host's clock on by <paramref name="later"/> and runs one expiry sweep of up to <paramref name="max"/> grants; returns the grants it removed.</summary>
        public Task<int> SweepAfterAsync(TimeSpan later, int max = 100)
        {
            _clock.Advance(later);
            return Host.App.Services.GetRequiredService<GrantExpiry>().SweepAsync(max, CancellationToken.None);
        }

        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }
}
