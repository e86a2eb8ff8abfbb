using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Processing;
using IamFulfillment.EndToEnd.Tests.Infrastructure;
using IamFulfillment.Sandbox.Graph;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests.Lifecycle;

/// <summary>Issue 7: MFA recovery through ServiceNow and Jira — a pass to the manager first, never for admins, guests or protected people, never too often.</summary>
public sealed class MfaResetTests(DemoWorld f) : IClassFixture<DemoWorld>
{
    public enum Protection
    {
        AdminRole,
        Guest,
        ProtectedGroup,
    }

    [Fact]
    public async Task MfaReset_WhileTheMethodsAreRemoved_ThePassIsRecordedDone()
    {
        // The pass must not be issued twice, so it is recorded as done; the save goes on while the methods are being
        // removed (a crash before it lands would redo the pass either way) and lands while their removal is on the wire.
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var ticket = Desk.For(Itsm.ServiceNow, f.World).MfaReset(ada);
        var removal = new HeldCalls(
            f.World.Graph.Holds.Add("DELETE", $"/users/{ada.GraphId}/authentication/"),
            f.World.Graph.Holds.Add("POST", "/$batch", bodyContains: $"\"method\":\"DELETE\",\"url\":\"/users/{ada.GraphId}/authentication/"));

        using (var accepted = await ticket.SendAsync(f.Host))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await removal.ArrivedAsync();
        var during = await f.Host.WaitForStateAsync(ticket.Ref, s => s.StepsDone.Contains($"tap:{ada.GraphId}"));
        removal.Release();

        var done = await f.Host.WaitForRoundAsync(ticket.Ref);

        Assert.Equal(IamFulfillment.Core.Processing.RoundPhase.Acting, during!.Phase);
        Assert.Contains($"tap:{ada.GraphId}", during.StepsDone);
        Assert.DoesNotContain($"methods:{ada.GraphId}", during.StepsDone);
        Assert.Equal(Outcome.Fulfilled, done.Outcome);
        Assert.Single(f.World.Graph.TapsIssued(ada.GraphId));
    }

    [Fact]
    public async Task MfaReset_WhileSessionsAreRevoked_ThePassAndTheRemovalAreRecordedDone_AndTheWriteBackWithTheRevocationInFlight()
    {
        // The pass and the method removal must not be repeated after a crash, so both are recorded; the revocation may
        // be repeated, so the same save records the write-back with it in flight, while it is sent (a crash now
        // repeats only the revocation; a write-back on the ticket would prove it done).
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var ticket = Desk.For(Itsm.ServiceNow, f.World).MfaReset(ada);
        var revocation = new HeldCalls(
            f.World.Graph.Holds.Add("POST", $"/users/{ada.GraphId}/revokeSignInSessions"),
            f.World.Graph.Holds.Add("POST", "/$batch", bodyContains: $"/users/{ada.GraphId}/revokeSignInSessions"));

        using (var accepted = await ticket.SendAsync(f.Host))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        }

        await revocation.ArrivedAsync();
        var during = await f.Host.WaitForStateAsync(ticket.Ref, s => s.Phase == IamFulfillment.Core.Processing.RoundPhase.WritingBack);
        revocation.Release();

        var done = await f.Host.WaitForRoundAsync(ticket.Ref);

        Assert.Equal(IamFulfillment.Core.Processing.RoundPhase.WritingBack, during!.Phase);
        Assert.Equal([$"revoke:{ada.GraphId}"], during.StepsInFlight);
        Assert.Contains($"tap:{ada.GraphId}", during.StepsDone);
        Assert.Contains($"methods:{ada.GraphId}", during.StepsDone);
        Assert.Equal(Outcome.Fulfilled, done.Outcome);
        Assert.Empty(done.StepsInFlight);
    }

    [Fact]
    public async Task MfaReset_TheRevocationDoesNotWaitForTheRemovalToBeRecorded_TheWriteBackDoes()
    {
        // The removal of the methods must be on record before the ticket is told (a retry must not remove what the
        // person registered since with the pass); the revocation, safe to repeat, goes on while that record is stored.
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var ticket = Desk.For(Itsm.ServiceNow, f.World).MfaReset(ada);
        await using var host = await HostUnderTest.StartAsync(f.World, services: s => s.WrapTicketStore(inner =>
            new HoldsOneSave(inner, state => state.Phase == RoundPhase.WritingBack && state.StepsDone.Contains($"methods:{ada.GraphId}"))));
        var done = await ticket.RunHoldingASaveAsync(host, async () =>
        {
            await Eventually.HoldsAsync(() => f.World.Graph.Requests.Any(r => r.Method == "POST" && r.Path.EndsWith($"/users/{ada.GraphId}/revokeSignInSessions", StringComparison.Ordinal)),
                "the sessions were not revoked while the removal's record was being stored");
            await Task.Delay(200);
            Assert.Empty(ticket.CustomerComments);
        });

        Assert.Equal((RoundPhase.Completed, Outcome.Fulfilled), (done.Phase, done.Outcome));
        Assert.Equal(1, f.World.Account(ada).SessionRevocations);
        Assert.Single(ticket.CustomerComments);
    }

    [Fact]
    public async Task MfaReset_ThePassesCheckpointLandingLate_NoSaveStoresTheResultOfAStepItNamesInFlight()
    {
        // The removal's record queues behind the pass's checkpoint, held here until the sessions are revoked, so it
        // starts late. It names the revocation as in flight (a run stopping after the write-back records it from
        // there, as proven by the write-back), so it must not store the revocation's result too: the trail would hold
        // it twice.
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var ticket = Desk.For(Itsm.ServiceNow, f.World).MfaReset(ada);
        WatchesSaves? saves = null;
        await using var host = await HostUnderTest.StartAsync(f.World, services: s => s.WrapTicketStore(inner =>
            new HoldsOneSave(saves = new WatchesSaves(inner), state => state.Phase == RoundPhase.Acting && state.StepsDone.Contains($"tap:{ada.GraphId}"))));
        var done = await ticket.RunHoldingASaveAsync(host, async () =>
        {
            await Eventually.HoldsAsync(() => f.World.Account(ada).SessionRevocations == 1, "the sessions were not revoked while the pass's checkpoint was being stored");
        });

        var revocation = $"revoke:{ada.GraphId}";
        Assert.Equal((RoundPhase.Completed, Outcome.Fulfilled), (done.Phase, done.Outcome));
        var record = Assert.Single(saves!.Saved, save => save.State.StepsInFlight.Count > 0);
        Assert.Equal([revocation], record.State.StepsInFlight);
        Assert.All(saves.Saved, save => Assert.DoesNotContain(save.Events, e => e.Kind == AuditKinds.ChangeApplied && save.State.StepsInFlight.Contains(e.Data["step"]!)));
        Assert.Single(await host.TrailAsync(ticket.Ref), e => e.Kind == AuditKinds.ChangeApplied && e.Data["step"] == revocation);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task MfaReset_IssuesAPassFirstThenRemovesTheMethodsThenRevokesSessions_AndOnlyTheManagerGetsThePass(Itsm itsm)
    {
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var mails = f.World.Graph.Outbox.Count;
        var ticket = Desk.For(itsm, f.World).MfaReset(ada);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        var pass = Assert.Single(f.World.Graph.TapsIssued(ada.GraphId)).Pass;
        Assert.All(f.World.Graph.AuthenticationMethods(ada.GraphId), m => Assert.Contains(m.Type, new[] { SandboxMethodTypes.Password, SandboxMethodTypes.TemporaryAccessPass }));
        Assert.Equal(1, f.World.Account(ada).SessionRevocations);

        // The order: pass, then methods, then sessions (audit sequence and the directory's own request log agree).
        var steps = (await f.Host.TrailAsync(ticket.Ref)).Where(e => e.Kind == AuditKinds.ChangeApplied).Select(e => e.Data["operation"]).ToList();
        Assert.Equal(["IssueTemporaryAccessPass", "RemoveAuthenticationMethods", "RevokeSessions"], steps);
        var calls = f.World.Graph.Requests.Where(r => r.Path.Contains(ada.GraphId, StringComparison.Ordinal) && r.Method is "POST" or "DELETE").ToList();
        var tap = calls.FindIndex(r => r.Method == "POST" && r.Path.EndsWith("/temporaryAccessPassMethods", StringComparison.Ordinal));
        var delete = calls.FindIndex(r => r.Method == "DELETE");
        var revoke = calls.FindIndex(r => r.Path.EndsWith("/revokeSignInSessions", StringComparison.Ordinal));
        Assert.True(tap >= 0 && tap < delete && delete < revoke, string.Join(", ", calls.Select(c => $"{c.Method} {c.Path}")));

        // The pass goes by mail to the manager only, and appears nowhere else.
        var mail = Assert.Single(f.World.Graph.Outbox.Skip(mails));
        Assert.Equal([f.Demo["grace"].UserPrincipalName], mail.To);
        Text.Contains(pass, mail.Body);
        Text.DoesNotContain(pass, ticket.WrittenText);
        Assert.DoesNotContain(f.Host.LogText(), line => line.Contains(pass, StringComparison.Ordinal));
        Text.Contains("a one-time Temporary Access Pass was sent by e-mail to Grace Hopper", ticket.Comment);
        Assert.Equal(DeskStatus.Resolved, ticket.Status);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow, Protection.AdminRole, Rules.MfaAdminTarget, Queues.Privileged)]
    [InlineData(Itsm.Jira, Protection.AdminRole, Rules.MfaAdminTarget, Queues.Privileged)]
    [InlineData(Itsm.ServiceNow, Protection.Guest, Rules.MfaGuestTarget, Queues.Iam)]
    [InlineData(Itsm.Jira, Protection.Guest, Rules.MfaGuestTarget, Queues.Iam)]
    [InlineData(Itsm.ServiceNow, Protection.ProtectedGroup, Rules.MfaProtectedTarget, Queues.Privileged)]
    [InlineData(Itsm.Jira, Protection.ProtectedGroup, Rules.MfaProtectedTarget, Queues.Privileged)]
    public async Task MfaResetForAnAdminAGuestOrAProtectedPerson_IsEscalatedWithNoChange(Itsm itsm, Protection protection, string rule, string queue)
    {
        var person = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        _ = protection switch
        {
            Protection.AdminRole => person.WithAdminRole(f.World),
            Protection.Guest => person.InDirectory(f.World, u => u.UserType = "Guest"),
            _ => person.InGroup(f.World, "executives"),
        };
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = Desk.For(itsm, f.World).MfaReset(person);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(rule, state.Rule);
        Assert.Equal(queue, ticket.Queue);
        Assert.Equal(0, changes.Made.DirectoryChanges + changes.Made.MailsSent);
        Assert.Equal(3, f.World.Graph.AuthenticationMethods(person.GraphId).Count);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task RepeatedMfaResetsBeyondTheLimit_GoToSecurityOperationsWithNoChange(Itsm itsm)
    {
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var desk = Desk.For(itsm, f.World);
        Assert.Equal(Outcome.Fulfilled, (await desk.MfaReset(ada).RunAsync(f.Host)).Outcome);
        Assert.Equal(Outcome.Fulfilled, (await desk.MfaReset(ada, reason: "Phone stolen again").RunAsync(f.Host)).Outcome);
        var changes = new ChangeWatch(f.World.Graph);
        var third = desk.MfaReset(ada, reason: "Third phone this month");

        var state = await third.RunAsync(f.Host);

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.MfaRepeated, state.Rule);
        Assert.Equal(Queues.Soc, third.Queue);
        Assert.Equal(0, changes.Made.DirectoryChanges + changes.Made.MailsSent);
        Assert.Equal(2, f.World.Graph.TapsIssued(ada.GraphId).Count);
        Text.Contains("2 MFA resets for this person in the last 30 days (limit 2): suspected account compromise. Nothing was changed.", third.Note);
    }

    [Theory]
    [InlineData(Itsm.ServiceNow)]
    [InlineData(Itsm.Jira)]
    public async Task MfaResetWithoutIdentityEvidence_AsksForItAndChangesNothing(Itsm itsm)
    {
        var ada = f.World.NewEmployee("Finance", "grace").WithMfaMethods(f.World);
        var changes = new ChangeWatch(f.World.Graph);
        var ticket = Desk.For(itsm, f.World).MfaReset(ada, method: null, omitVerifiedAt: true);

        var state = await ticket.RunAsync(f.Host);

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal(DeskStatus.AwaitingCustomer, ticket.Status);
        Text.Contains("Say how the person's identity was verified", ticket.Comment);
        Text.Contains("Say when the identity was verified.", ticket.Comment);
        Assert.Equal(0, changes.Made.DirectoryChanges + changes.Made.MailsSent);
    }
}
