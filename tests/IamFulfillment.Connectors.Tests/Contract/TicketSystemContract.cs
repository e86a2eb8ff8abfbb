using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Connectors.Http;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// What the core relies on from every ticket system, proved the same way for each: the authoritative read (fields,
/// people, approvals, material changes), the write-back per outcome with its markers and neutralised text, the
/// lost-answer check, and rate limiting. One world per system is shared by the class (tests run one after another
/// and each makes its own people and tickets); each test sets the sandbox clock and clears faults first.
/// </summary>
public abstract class TicketSystemContract<TWorld> : IClassFixture<TWorld>
    where TWorld : class, ITicketSystemWorld, new()
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    private static readonly RequestShape Grant = new("finance-reports-read", "Quarter-end reporting for the EMEA ledger", new DateOnly(2026, 12, 31));
    private static readonly string Marker = "[iamf:r0a1b2c3d4e5f6a7b8c9d:fulfilled]";

    protected TicketSystemContract(TWorld world)
    {
        World = world;
        Clock = new FakeTimeProvider(T0);
        World.Reset(Clock);
    }

    protected TWorld World { get; }

    protected FakeTimeProvider Clock { get; }

    // ---- Reading: the ticket is read from the API, never from the webhook, and says who, what and when.

    [Fact]
    public async Task Read_Fields_AreTheRequestUnderItsNormalisedNames()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);

        var ticket = await World.Connector().ReadAsync(key, default);

        Assert.Equal(new TicketRef(World.Kind, key), ticket.Ref);
        Assert.False(string.IsNullOrWhiteSpace(ticket.Number));
        Assert.NotNull(ticket.Url);
        Assert.Equal(TicketStatus.Open, ticket.Status);
        Assert.Equal(nameof(RequestType.AccessGrant), ticket.Fields[RequestFields.RequestType]);
        Assert.Equal("finance-reports-read", ticket.Fields[RequestFields.Entitlements]);
        Assert.Equal("Quarter-end reporting for the EMEA ledger", ticket.Fields[RequestFields.Justification]);
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        Assert.Equal(T0, ticket.CreatedAt);
        Assert.Empty(ticket.Approvals);
        Assert.Empty(ticket.MaterialChanges);
    }

    [Fact]
    public async Task Read_RaisedOnSomeonesBehalf_TheTargetIsRequestedForAndTheRequesterIsWhoOpenedIt()
    {
        var grace = World.AddPerson("Grace Hopper", "grace@contoso.example");
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(requestedFor: ada, openedBy: grace, Grant);

        var ticket = await World.Connector().ReadAsync(key, default);

        var target = ticket.People[RequestFields.RequestedFor];
        Assert.Equal(ada.ItsmId, target.ItsmId);
        Assert.Equal("ada@contoso.example", target.Email);
        Assert.Equal(grace.ItsmId, ticket.OpenedBy?.ItsmId);
        Assert.Equal("grace@contoso.example", ticket.OpenedBy?.Email);
    }

    [Fact]
    public async Task Read_PersonTheSystemShowsWithoutAnAddress_HasNoEmailRatherThanAGuess()
    {
        var lynn = World.AddPerson("Lynn Conway", "lynn@contoso.example");
        var alan = World.AddPerson("Alan Turing", email: null);
        var key = World.CreateAccessRequest(requestedFor: alan, openedBy: lynn, Grant);

        var ticket = await World.Connector().ReadAsync(key, default);

        var target = ticket.People[RequestFields.RequestedFor];
        Assert.Equal(alan.ItsmId, target.ItsmId);
        Assert.Equal("Alan Turing", target.DisplayName);
        Assert.Null(target.Email);
    }

    [Fact]
    public async Task Read_Approvals_ApprovedRejectedAndPending_WithWhoAndWhenEachWasDecided()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var grace = World.AddPerson("Grace Hopper", "grace@contoso.example");
        var radia = World.AddPerson("Radia Perlman", "radia@contoso.example");
        var katherine = World.AddPerson("Katherine Johnson", "katherine@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);
        World.AddApproval(key, grace, decision: true, T0.AddMinutes(10));
        World.AddApproval(key, radia, decision: false, T0.AddMinutes(20));
        World.AddApproval(key, katherine, decision: null, T0.AddMinutes(30));

        var ticket = await World.Connector().ReadAsync(key, default);

        Assert.Equal(3, ticket.Approvals.Count);
        var approved = Assert.Single(ticket.Approvals, a => a.Approver.ItsmId == grace.ItsmId);
        Assert.Equal(ApprovalState.Approved, approved.State);
        Assert.Equal(T0.AddMinutes(10), approved.DecidedAt);
        Assert.Equal("grace@contoso.example", approved.Approver.Email);
        var rejected = Assert.Single(ticket.Approvals, a => a.Approver.ItsmId == radia.ItsmId);
        Assert.Equal(ApprovalState.Rejected, rejected.State);
        Assert.Equal(T0.AddMinutes(20), rejected.DecidedAt);
        var pending = Assert.Single(ticket.Approvals, a => a.Approver.ItsmId == katherine.ItsmId);
        Assert.Equal(ApprovalState.Requested, pending.State);
        Assert.Null(pending.DecidedAt);
        Assert.False(pending.IsDecided);
    }

    [Fact]
    public async Task Read_MaterialChangeByAPerson_ComesFromTheHistoryWithWhoAndWhen_AndOtherEditsDoNot()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);
        World.ChangeSummary(key, ada, "Access for Ada (typo fixed)", T0.AddMinutes(5));
        World.ChangeEndDate(key, ada, new DateOnly(2027, 1, 31), T0.AddMinutes(15));

        var ticket = await World.Connector().ReadAsync(key, default);

        Assert.Equal(new FieldChange(RequestFields.EndDate, T0.AddMinutes(15), ada.ChangedBy, "2026-12-31", "2027-01-31"), Assert.Single(ticket.MaterialChanges));
        Assert.Equal(T0.AddMinutes(15), ticket.LastMaterialChange);
        Assert.Equal("2027-01-31", ticket.Fields[RequestFields.EndDate]);
    }

    [Fact]
    public async Task Read_TheServicesOwnWriteBack_IsNoMaterialChange()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);
        await connector.WriteBackAsync(ticket, Escalation(), default);

        var after = await connector.ReadAsync(key, default);

        Assert.Equal(World.ExpectedRoute, World.RoutedTo(key));
        Assert.Empty(after.MaterialChanges);
    }

    [Fact]
    public async Task Read_UnknownTicket_ThrowsTicketNotFound()
    {
        var error = await Assert.ThrowsAsync<TicketNotFoundException>(() => World.Connector().ReadAsync(World.UnknownKey, default));

        Assert.Equal(new TicketRef(World.Kind, World.UnknownKey), error.Ticket);
    }

    // ---- Writing back: one customer comment and one internal note, each with the marker, and the outcome's state.

    [Fact]
    public async Task WriteBack_Fulfilled_CustomerCommentAndInternalNoteEachCarryTheMarker_AndTheTicketIsClosed()
    {
        var key = NewRequest();
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Fulfilled,
            CustomerComment = "Ada Lovelace now has access to Finance reports (read) until 2026-12-31.",
            InternalNote = "FULFILLED automatically: added to finance-reports-read.",
            Marker = Marker,
        }, default);

        var entries = World.Entries(key);
        var comment = Assert.Single(entries, e => e.CustomerVisible);
        var note = Assert.Single(entries, e => !e.CustomerVisible);
        Assert.Equal("Ada Lovelace now has access to Finance reports (read) until 2026-12-31.\n" + Marker, World.Rendered(comment.Text));
        // Between the text and the marker a connector may say what the note was sent with (Jira: the note is one of several calls).
        Assert.StartsWith("FULFILLED automatically: added to finance-reports-read.\n", World.Rendered(note.Text), StringComparison.Ordinal);
        Assert.EndsWith("\n" + Marker, World.Rendered(note.Text), StringComparison.Ordinal);
        Assert.All(entries, e => Assert.Equal(World.IntegrationIdentity, e.Author));
        Assert.Equal(World.ExpectedState(Outcome.Fulfilled), receipt.StateWritten);
        Assert.Equal(World.ExpectedState(Outcome.Fulfilled), World.RawState(key));
        Assert.Equal(TicketStatus.Closed, (await connector.ReadAsync(key, default)).Status);
    }

    [Theory]
    [InlineData(Outcome.NeedsInfo, TicketStatus.AwaitingCustomer)]
    [InlineData(Outcome.Rejected, TicketStatus.Closed)]
    [InlineData(Outcome.Fulfilled, TicketStatus.Closed)]
    public async Task WriteBack_Outcome_LeavesTheTicketInTheOutcomesState(Outcome outcome, TicketStatus status)
    {
        var key = NewRequest();
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);

        var receipt = await connector.WriteBackAsync(ticket, new WriteBack { Outcome = outcome, CustomerComment = "What happened and why.", Marker = Marker }, default);

        Assert.NotNull(World.ExpectedState(outcome));
        Assert.Equal(World.ExpectedState(outcome), receipt.StateWritten);
        Assert.Equal(World.ExpectedState(outcome), World.RawState(key));
        Assert.Equal(status, (await connector.ReadAsync(key, default)).Status);
        Assert.Single(World.Entries(key), e => e.CustomerVisible);
    }

    [Fact]
    public async Task WriteBack_Escalated_RoutesTheTicketToThePolicyQueueWithTheNoteForPeople()
    {
        var key = NewRequest();
        var stateBefore = World.RawState(key);
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);

        var receipt = await connector.WriteBackAsync(ticket, Escalation(), default);

        Assert.Equal(World.ExpectedRoute, World.RoutedTo(key));
        Assert.Equal(World.ExpectedState(Outcome.Escalated) ?? stateBefore, World.RawState(key));
        Assert.Equal(World.ExpectedState(Outcome.Escalated), receipt.StateWritten);
        Assert.NotEqual(TicketStatus.Closed, (await connector.ReadAsync(key, default)).Status);
        var note = Assert.Single(World.Entries(key), e => !e.CustomerVisible);
        Assert.StartsWith("ESCALATION", World.Rendered(note.Text), StringComparison.Ordinal);
        Assert.Contains("A person in the IAM team will handle", World.Rendered(Assert.Single(World.Entries(key), e => e.CustomerVisible).Text), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteBack_WithoutStateChange_WritesTheNoteAndLeavesStateAndRouteAlone()
    {
        var key = NewRequest();
        var stateBefore = World.RawState(key);
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);

        var receipt = await connector.WriteBackAsync(ticket, Escalation() with { ChangeState = false, CustomerComment = null }, default);

        Assert.Null(receipt.StateWritten);
        Assert.Equal(stateBefore, World.RawState(key));
        Assert.Null(World.RoutedTo(key));
        Assert.False(Assert.Single(World.Entries(key)).CustomerVisible);
    }

    [Fact]
    public async Task WriteBack_TextCopiedFromTheTicket_CannotInjectMarkupOrLinks_AndTheMarkerStillShows()
    {
        const string Hostile = "Justification: <script>alert(1)</script> [code]<img src=x onerror=alert(2)>[/code] "
                               + "[click here|https://evil.example/login] {color:red}*urgent*{color} !https://evil.example/pixel.png! "
                               + "[~accountid:5b10ac8d82e05b22cc7d4ef5] _see_ |table|";
        var key = NewRequest();
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);

        await connector.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.NeedsInfo,
            CustomerComment = "Please explain the request. You wrote: " + Hostile,
            InternalNote = "Requester text: " + Hostile,
            Marker = Marker,
        }, default);

        var entries = World.Entries(key);
        Assert.Equal(2, entries.Count);
        foreach (var entry in entries)
        {
            Assert.Empty(World.LiveMarkup(entry.Text));
            Assert.Contains("alert(1)", World.Rendered(entry.Text), StringComparison.Ordinal);
            Assert.EndsWith("\n" + Marker, World.Rendered(entry.Text), StringComparison.Ordinal);
        }

        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, default));
    }

    // ---- A write-back whose answer was lost is looked for, not sent again blindly.

    [Fact]
    public async Task ShowsMarker_CountsOnlyTheIntegrationAccountsOwnEntries()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);
        World.CommentAs(key, ada, "Copied from an earlier mail:\n" + Marker);

        Assert.False(await connector.ShowsMarkerAsync(ticket, Marker, default));

        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, ChangeState = false, InternalNote = "Interim note.", Marker = Marker }, default);

        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, default));
        Assert.False(await connector.ShowsMarkerAsync(ticket, "[iamf:r0a1b2c3d4e5f6a7b8c9d:rejected]", default));
    }

    [Fact]
    public async Task WriteBackWhoseAnswerWasLost_FailsAsTransient_AndTheMarkerShowsItArrived()
    {
        var key = NewRequest();
        var connector = World.Connector();
        var ticket = await connector.ReadAsync(key, default);
        World.Fail(ContractCall.WriteBack, ContractFault.LostAnswer);

        var writeBack = new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", InternalNote = "End date missing.", Marker = Marker };
        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => connector.WriteBackAsync(ticket, writeBack, default));

        Assert.Null(error.Status);
        Assert.Equal(World.WriteBackCalls, World.CallTimes(ContractCall.WriteBack).Count); // a write the server may have acted on is not repeated

        // Where the write-back is one call the marker shows it arrived; where it takes several (Jira), the marker shows
        // it only once every part is seen, and a write-back that broke off is resumed without posting what arrived again.
        if (!await connector.ShowsMarkerAsync(ticket, Marker, default))
        {
            await connector.WriteBackAsync(ticket, writeBack with { Resume = true }, default);
        }

        Assert.True(await connector.ShowsMarkerAsync(ticket, Marker, default));
    }

    // ---- Rate limiting: the server's wait is honoured, never cut short; long waits go back to the queue.

    [Fact]
    public async Task RateLimitedRead_RetryAfter_IsWaitedOutBeforeTheRetry()
    {
        var clock = new SteppingClock(T0);
        World.Reset(clock);
        var key = NewRequest();
        World.Fail(ContractCall.ReadTicket, ContractFault.RateLimited, retryAfterSeconds: 3);

        var ticket = await World.Connector(clock).ReadAsync(key, default);

        Assert.Equal(key, ticket.Ref.Key);
        var calls = World.CallTimes(ContractCall.ReadTicket);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1] - calls[0] >= TimeSpan.FromSeconds(3), $"retried after {(calls[1] - calls[0]).TotalSeconds} s");
        Assert.Contains(TimeSpan.FromSeconds(3) + RetryAfter.Margin, clock.Waits);
    }

    [Fact]
    public async Task RateLimitedRead_ResetTimeOnly_IsWaitedOutUntilTheReset()
    {
        // 09:01:55 + 5 s: both systems announce 09:02:00 (ServiceNow as UNIX seconds, Jira as ISO-8601 to the minute).
        var clock = new SteppingClock(T0.AddSeconds(115));
        World.Reset(clock);
        var key = NewRequest();
        World.Fail(ContractCall.ReadTicket, ContractFault.RateLimitedResetOnly, retryAfterSeconds: 5);

        await World.Connector(clock).ReadAsync(key, default);

        var calls = World.CallTimes(ContractCall.ReadTicket);
        Assert.Equal(2, calls.Count);
        Assert.InRange(calls[1], T0.AddMinutes(2), T0.AddMinutes(2).AddSeconds(1));
        Assert.Contains(TimeSpan.FromSeconds(5) + RetryAfter.Margin, clock.Waits);
    }

    [Theory]
    [InlineData(ContractFault.RateLimited)]
    [InlineData(ContractFault.RateLimitedResetOnly)]
    public async Task RateLimitedRead_LongerThanTheRetryLayerWaits_IsHandedBackWithTheWait(ContractFault fault)
    {
        var clock = new SteppingClock(T0);
        World.Reset(clock);
        var key = NewRequest();
        World.Fail(ContractCall.ReadTicket, fault, retryAfterSeconds: 120);

        var error = await Assert.ThrowsAsync<TransientConnectorException>(() => World.Connector(clock).ReadAsync(key, default));

        Assert.Equal(429, error.Status);
        Assert.Equal(TimeSpan.FromMinutes(2), error.RetryAfter);
        Assert.Single(World.CallTimes(ContractCall.ReadTicket));
        Assert.DoesNotContain(clock.Waits, w => w >= TimeSpan.FromSeconds(100));
    }

    [Fact]
    public async Task RateLimitedWriteBack_IsSentAgainAfterTheWait_AndWrittenOnce()
    {
        var clock = new SteppingClock(T0);
        World.Reset(clock);
        var key = NewRequest();
        var connector = World.Connector(clock);
        var ticket = await connector.ReadAsync(key, default);
        World.Fail(ContractCall.WriteBack, ContractFault.RateLimited, retryAfterSeconds: 2);

        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", Marker = Marker }, default);

        var calls = World.CallTimes(ContractCall.WriteBack);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1] - calls[0] >= TimeSpan.FromSeconds(2));
        Assert.Single(World.Entries(key));
        Assert.Equal(World.ExpectedState(Outcome.NeedsInfo), World.RawState(key));
    }

    // ---- Secrets.

    [Fact]
    public async Task Logs_AtEveryLevel_NeverHoldTheCredentials()
    {
        var logs = new FakeLogCollector();
        var key = NewRequest();
        var connector = World.Connector(logs: logs);
        World.Fail(ContractCall.ReadTicket, ContractFault.RateLimited, retryAfterSeconds: 0);
        var ticket = await connector.ReadAsync(key, default);
        await connector.WriteBackAsync(ticket, Escalation(), default);
        await Assert.ThrowsAsync<TicketNotFoundException>(() => connector.ReadAsync(World.UnknownKey, default));

        var lines = logs.GetSnapshot()
            .Select(r => $"{r.Message} {string.Join(" ", r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? [])} {r.Exception}")
            .ToList();
        Assert.NotEmpty(lines);
        foreach (var secret in World.Secrets)
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"a log record holds a credential: {leak}");
        }
    }

    // ---- Reconciliation's search: open requests a person changed lately, oldest change first.

    [Fact]
    public async Task FindChanged_OpenRequestsChangedSince_OldestChangeFirst_AndNoneChangedBefore()
    {
        Clock.SetUtcNow(T0.AddDays(1)); // after every ticket the other tests of this world made
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var before = World.CreateAccessRequest(ada, ada, Grant);
        Clock.Advance(TimeSpan.FromHours(2));
        var first = World.CreateAccessRequest(ada, ada, Grant);
        Clock.Advance(TimeSpan.FromMinutes(5));
        var second = World.CreateAccessRequest(ada, ada, Grant);
        Clock.Advance(TimeSpan.FromMinutes(1));

        string[] made = [before, first, second];

        // The world is shared: tests that ran before may have left tickets changed later than this one's clock.
        var changes = (await World.Connector(Clock).FindChangedAsync(Clock.GetUtcNow().AddHours(-1), 50, default)).Where(c => made.Contains(c.Key)).ToList();

        Assert.Equal([first, second], changes.Select(c => c.Key));
        Assert.Equal(T0.AddDays(1).AddHours(2), changes[0].ChangedAt);
        Assert.Equal(T0.AddDays(1).AddHours(2).AddMinutes(5), changes[1].ChangedAt);
        Assert.DoesNotContain(before, changes.Select(c => c.Key));
    }

    [Fact]
    public async Task FindChanged_AnOlderRequestAPersonChangedSince_IsFoundAtItsChange_AndAtMostMaxComeBackWithMoreToFind()
    {
        Clock.SetUtcNow(T0.AddDays(2));
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var older = World.CreateAccessRequest(ada, ada, Grant);
        Clock.Advance(TimeSpan.FromHours(3));
        var newer = World.CreateAccessRequest(ada, ada, Grant);
        Clock.Advance(TimeSpan.FromMinutes(10));
        World.ChangeSummary(older, ada, "Access for Ada (typo fixed)", Clock.GetUtcNow());
        var latest = World.CreateAccessRequest(ada, ada, Grant);
        var connector = World.Connector(Clock);

        string[] made = [older, newer, latest];
        var changes = (await connector.FindChangedAsync(Clock.GetUtcNow().AddHours(-1), 50, default)).Where(c => made.Contains(c.Key)).ToList();
        var firstTwo = await connector.FindChangedAsync(Clock.GetUtcNow().AddMinutes(-11), 2, default);

        Assert.Equal(newer, changes[0].Key);
        Assert.Equal(Clock.GetUtcNow(), Assert.Single(changes, c => c.Key == older).ChangedAt);
        Assert.Equal(made.Order(), changes.Select(c => c.Key).Order());
        // A search that stops short says so, and one from its last change finds the rest.
        Assert.InRange(firstTwo.Count, 1, 2);
        Assert.True(firstTwo.More);
        Assert.Equal(newer, firstTwo[0].Key);
        var rest = await connector.FindChangedAsync(firstTwo[^1].ChangedAt, 50, default);
        Assert.Equal(made.Order(), firstTwo.Concat(rest).Select(c => c.Key).Where(made.Contains).Distinct().Order());
    }

    [Fact]
    public async Task FindChanged_AClosedRequest_IsNotFound_EvenWhenAPersonCommentsOnIt()
    {
        Clock.SetUtcNow(T0.AddDays(3));
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        var key = World.CreateAccessRequest(ada, ada, Grant);
        var connector = World.Connector(Clock);
        var ticket = await connector.ReadAsync(key, default);
        await connector.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "Done.", Marker = Marker }, default);
        Clock.Advance(TimeSpan.FromMinutes(5));
        World.CommentAs(key, ada, "Thanks!");

        var changes = await connector.FindChangedAsync(Clock.GetUtcNow().AddHours(-1), 50, default);

        Assert.DoesNotContain(key, changes.Select(c => c.Key));
    }

    private string NewRequest()
    {
        var ada = World.AddPerson("Ada Lovelace", "ada@contoso.example");
        return World.CreateAccessRequest(ada, ada, Grant);
    }

    private WriteBack Escalation() => new()
    {
        Outcome = Outcome.Escalated,
        Queue = World.EscalationQueue,
        CustomerComment = "A person in the IAM team will handle this request.",
        InternalNote = "ESCALATION — needs a person (queue: privileged)\nWhy: Production administrators is privileged access.",
        Marker = "[iamf:r0a1b2c3d4e5f6a7b8c9d:escalated]",
    };
}

public sealed class ServiceNowContractTests(ServiceNowContractWorld world) : TicketSystemContract<ServiceNowContractWorld>(world);

public sealed class JiraContractTests(JiraContractWorld world) : TicketSystemContract<JiraContractWorld>(world);
