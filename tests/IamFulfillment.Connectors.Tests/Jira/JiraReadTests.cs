using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Jira;

namespace IamFulfillment.Connectors.Tests.Jira;

public sealed class JiraReadTests : IDisposable
{
    private readonly JiraWorld _world = new();

    public void Dispose() => _world.Dispose();

    [Fact]
    public async Task Read_AccessRequest_MapsRequestTypeFieldsStatusAndLinks()
    {
        var key = _world.CreateAccessRequest();

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal(new TicketRef(TicketSystemKind.Jira, key), ticket.Ref);
        Assert.Equal(key, ticket.Number);
        Assert.Equal($"{_world.Sandbox.Url}/browse/{key}", ticket.Url);
        Assert.Equal("11", ticket.CatalogItem);
        Assert.Equal("AccessGrant", ticket.Fields[RequestFields.RequestType]);
        Assert.Equal("grp-finance-read,grp-finance-reports", ticket.Fields[RequestFields.Entitlements]);
        Assert.Equal("Quarter-end reporting for the finance team", ticket.Fields[RequestFields.Justification]);
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        Assert.Equal("low", ticket.Fields[RequestFields.Reason]); // hidden on the portal, read from the platform API
        Assert.Null(ticket.Fields[RequestFields.TerminationDate]);
        Assert.Equal(TicketStatus.Open, ticket.Status);
        Assert.Equal("Waiting for support", ticket.RawState);
        Assert.Equal("Access to the finance reports", ticket.Summary);
        Assert.NotNull(ticket.CreatedAt);
        Assert.Empty(ticket.Approvals);
        Assert.Empty(ticket.MaterialChanges);
    }

    [Fact]
    public async Task Read_RequestTypeNotConfigured_LeavesRequestTypeUnset()
    {
        var key = _world.Sandbox.CreateRequest(new JiraRequestSeed { ServiceDeskId = _world.Desk.Id, RequestTypeId = _world.RemoveAccess.Id, ReporterId = _world.Dave.AccountId });

        var ticket = await _world.Connector(s => s.Remove("Jira:RequestTypes:12")).ReadAsync(key, CancellationToken.None);

        Assert.Equal("12", ticket.CatalogItem);
        Assert.False(ticket.Fields.ContainsKey(RequestFields.RequestType));
    }

    [Fact]
    public async Task Read_OnBehalfRequest_OpenedByIsCreatorAndRequestedForIsReporter()
    {
        var key = _world.CreateAccessRequest(reporterId: _world.Dave.AccountId, creatorId: _world.Bob.AccountId);

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal(_world.Bob.AccountId, ticket.OpenedBy?.ItsmId);
        Assert.Equal("Bob Manager", ticket.OpenedBy?.DisplayName);
        Assert.Equal(_world.Dave.AccountId, ticket.People[RequestFields.RequestedFor].ItsmId);
    }

    [Fact]
    public async Task Read_HiddenEmail_GivesPersonWithoutEmail()
    {
        var key = _world.CreateAccessRequest(reporterId: _world.Dave.AccountId, creatorId: _world.Alice.AccountId);

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        var target = ticket.People[RequestFields.RequestedFor];
        Assert.Equal(new ItsmPerson(_world.Dave.AccountId, "Dave Target", null), target);
        Assert.Equal("alice@example.com", ticket.OpenedBy?.Email);
    }

    [Fact]
    public async Task Read_RequestedForFieldMapped_WinsOverReporter()
    {
        var key = _world.CreateAccessRequest(reporterId: _world.Alice.AccountId, fields: new Dictionary<string, object?>
        {
            [JiraWorld.RequestedFor] = new[] { _world.Dave },
            [JiraWorld.VerifiedBy] = _world.Carol,
        });

        var ticket = await _world.Connector(s => s["Jira:FieldMap:RequestedFor"] = JiraWorld.RequestedFor).ReadAsync(key, CancellationToken.None);

        Assert.Equal(_world.Dave.AccountId, ticket.People[RequestFields.RequestedFor].ItsmId);
        Assert.Equal(new ItsmPerson(_world.Carol.AccountId, "Carol Agent", "carol@example.com"), ticket.People[RequestFields.VerifiedBy]);
        Assert.False(ticket.Fields.ContainsKey(RequestFields.VerifiedBy));
    }

    [Fact]
    public async Task Read_RequestedForFieldEmpty_FallsBackToReporter()
    {
        var key = _world.CreateAccessRequest(reporterId: _world.Dave.AccountId, fields: new Dictionary<string, object?>());

        var ticket = await _world.Connector(s => s["Jira:FieldMap:RequestedFor"] = JiraWorld.RequestedFor).ReadAsync(key, CancellationToken.None);

        Assert.Equal(_world.Dave.AccountId, ticket.People[RequestFields.RequestedFor].ItsmId);
    }

    [Fact]
    public async Task Read_RequestedForFieldWithSeveralPeople_NamesNoOne()
    {
        var key = _world.CreateAccessRequest(reporterId: _world.Alice.AccountId, fields: new Dictionary<string, object?>
        {
            [JiraWorld.RequestedFor] = new[] { _world.Dave, _world.Erin },
        });

        var ticket = await _world.Connector(s => s["Jira:FieldMap:RequestedFor"] = JiraWorld.RequestedFor).ReadAsync(key, CancellationToken.None);

        Assert.False(ticket.People.ContainsKey(RequestFields.RequestedFor));
    }

    [Fact]
    public async Task Read_Approvals_MapsDecidedPendingAndDeclinedPerApprover()
    {
        var key = _world.CreateAccessRequest(status: "Waiting for approval");
        var decidedAt = new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);
        var manager = _world.Sandbox.AddApproval(key, "Manager approval", [_world.Bob.AccountId, _world.Carol.AccountId]);
        var owner = _world.Sandbox.AddApproval(key, "Owner approval", [_world.Erin.AccountId]);
        var security = _world.Sandbox.AddApproval(key, "Security approval", [_world.Carol.AccountId]);
        _world.Sandbox.Decide(key, manager, _world.Bob.AccountId, approve: true, decidedAt);
        _world.Sandbox.Decide(key, security, _world.Carol.AccountId, approve: false, decidedAt.AddHours(1));

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        var byId = ticket.Approvals.ToDictionary(a => a.Id);
        Assert.Equal(4, byId.Count);
        var bob = byId[$"{manager}:{_world.Bob.AccountId}"];
        Assert.Equal(ApprovalState.Approved, bob.State);
        Assert.Equal(decidedAt, bob.DecidedAt);
        Assert.Equal("Manager approval", bob.StageName);
        Assert.Equal(ApprovalScope.Item, bob.Scope);
        Assert.Null(bob.Approver.Email); // Bob hides his address

        // Carol did not answer the manager approval Bob already completed: not needed, not pending.
        var carolManager = byId[$"{manager}:{_world.Carol.AccountId}"];
        Assert.Equal(ApprovalState.NotRequired, carolManager.State);
        Assert.Null(carolManager.DecidedAt);

        var erin = byId[$"{owner}:{_world.Erin.AccountId}"];
        Assert.Equal(ApprovalState.Requested, erin.State);
        Assert.Null(erin.DecidedAt);

        var declined = byId[$"{security}:{_world.Carol.AccountId}"];
        Assert.Equal(ApprovalState.Rejected, declined.State);
        Assert.Equal(decidedAt.AddHours(1), declined.DecidedAt);
    }

    [Fact]
    public async Task Read_ManyApprovals_FollowsPagesUntilLast()
    {
        var key = _world.CreateAccessRequest();
        for (var i = 0; i < 55; i++)
        {
            _world.Sandbox.AddApproval(key, $"Stage {i}", [_world.Erin.AccountId]);
        }

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal(55, ticket.Approvals.Count);
        Assert.Equal(2, _world.Sandbox.CallCount("GET", "/approval"));
    }

    [Fact]
    public async Task Read_Changelog_MaterialChangesByPeopleOnlyNewestLast()
    {
        var key = _world.CreateAccessRequest();
        var t0 = new DateTimeOffset(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);
        _world.Sandbox.EditFields(key, _world.Alice.AccountId, new Dictionary<string, object?> { [JiraWorld.EndDate] = new DateOnly(2027, 3, 31) }, t0);
        _world.Sandbox.EditFields(key, _world.Sandbox.IntegrationUser.AccountId, new Dictionary<string, object?> { [JiraWorld.Entitlements] = new[] { "grp-finance-read" } }, t0.AddMinutes(5));
        _world.Sandbox.Transition(key, "Start progress", _world.Carol.AccountId, t0.AddMinutes(10));
        _world.Sandbox.EditFields(key, _world.Carol.AccountId, new Dictionary<string, object?> { ["reporter"] = _world.Erin }, t0.AddMinutes(20));
        _world.Sandbox.EditFields(key, _world.Alice.AccountId, new Dictionary<string, object?> { ["labels"] = new[] { "urgent" } }, t0.AddMinutes(30));

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Collection(ticket.MaterialChanges,
            c => Assert.Equal(new FieldChange(RequestFields.EndDate, t0, _world.Alice.AccountId, "2026-12-31", "2027-03-31"), c),
            c => Assert.Equal(new FieldChange(RequestFields.RequestedFor, t0.AddMinutes(20), _world.Carol.AccountId, "Dave Target", "Erin Owner"), c));
        Assert.Equal(t0.AddMinutes(20), ticket.LastMaterialChange);
        Assert.Equal(TicketStatus.InProgress, ticket.Status);
    }

    [Fact]
    public async Task Read_RequestTypeChangedByAnAgent_IsAMaterialChange()
    {
        var key = _world.CreateAccessRequest();
        var at = new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero);
        _world.Sandbox.ChangeRequestType(key, _world.RemoveAccess.Id, _world.Carol.AccountId, at);

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal("AccessRemoval", ticket.Fields[RequestFields.RequestType]);
        Assert.Equal(new FieldChange(Connectors.Jira.JiraFieldMap.CatalogItemChange, at, _world.Carol.AccountId, "Request access", "Remove access"), Assert.Single(ticket.MaterialChanges));
    }

    [Fact]
    public async Task Read_ChangelogLongerThanTheIssueCarries_IsCompletedFromTheChangelogEndpoint()
    {
        var key = _world.CreateAccessRequest();
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        _world.Sandbox.EditFields(key, _world.Alice.AccountId, new Dictionary<string, object?> { [JiraWorld.Entitlements] = new[] { "grp-payroll" } }, t0);
        for (var i = 0; i < 120; i++)
        {
            _world.Sandbox.EditFields(key, _world.Carol.AccountId, new Dictionary<string, object?> { ["labels"] = new[] { $"touch{i}" } }, t0.AddMinutes(i + 1));
        }

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        var change = Assert.Single(ticket.MaterialChanges);
        Assert.Equal(RequestFields.Entitlements, change.Field);
        Assert.Equal(t0, change.At);
        Assert.Equal(2, _world.Sandbox.CallCount("GET", "/changelog"));
    }

    [Fact]
    public async Task Read_DateTimes_AreNormalisedToIsoWithColonOffset()
    {
        using var world = new JiraWorld(new JiraSandboxOptions { DisplayOffset = TimeSpan.FromHours(10) });
        var key = world.CreateAccessRequest(fields: new Dictionary<string, object?>
        {
            [JiraWorld.TerminationTime] = new DateTimeOffset(2026, 12, 31, 10, 0, 0, TimeSpan.Zero),
            [JiraWorld.EndDate] = new DateOnly(2026, 12, 31),
        });

        var ticket = await world.Connector().ReadAsync(key, CancellationToken.None);

        // Jira answers 2026-12-31T20:00:00.000+1000 (the caller's zone): the same instant, in ISO-8601.
        Assert.Equal("2026-12-31T20:00:00.000+10:00", ticket.Fields[RequestFields.TerminationDate]);
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        Assert.Equal(new DateTimeOffset(2026, 12, 31, 10, 0, 0, TimeSpan.Zero), DateTimeOffset.ParseExact(ticket.Fields[RequestFields.TerminationDate]!, "yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("Waiting for customer", TicketStatus.AwaitingCustomer)]
    [InlineData("In progress", TicketStatus.InProgress)]
    [InlineData("Waiting for approval", TicketStatus.Open)]
    [InlineData("Resolved", TicketStatus.Closed)]
    [InlineData("Declined", TicketStatus.Closed)]
    public async Task Read_Status_MapsByCategoryAndAwaitingNames(string status, TicketStatus expected)
    {
        var key = _world.CreateAccessRequest(status: status);

        var ticket = await _world.Connector().ReadAsync(key, CancellationToken.None);

        Assert.Equal(expected, ticket.Status);
        Assert.Equal(status, ticket.RawState);
    }

    [Fact]
    public async Task Read_UnknownIssue_ThrowsTicketNotFound()
    {
        var error = await Assert.ThrowsAsync<TicketNotFoundException>(() => _world.Connector().ReadAsync("HR-999", CancellationToken.None));

        Assert.Equal("HR-999", error.Ticket.Key);
    }

    [Theory]
    [InlineData("hr-1")]
    [InlineData("HR-1/../../rest/api/3/myself")]
    [InlineData("HR 1")]
    [InlineData("1")]
    public async Task Read_MalformedKey_ThrowsBeforeAnyCall(string key)
    {
        await Assert.ThrowsAsync<TicketNotFoundException>(() => _world.Connector().ReadAsync(key, CancellationToken.None));

        Assert.Empty(_world.Sandbox.Calls);
    }
}
