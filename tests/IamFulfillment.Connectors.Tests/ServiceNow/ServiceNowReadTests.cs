using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.ServiceNow;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

public class ServiceNowReadTests
{
    private static readonly DateTimeOffset T0 = ServiceNowTestHost.T0;

    [Fact]
    public async Task Read_RitmWithVariables_MapsFieldsPeopleAndLinks()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), ticket.Ref);
        Assert.Equal(ritm.Number, ticket.Number);
        Assert.Equal($"{host.Sandbox.Url}/sc_req_item.do?sys_id={ritm.SysId}", ticket.Url);
        Assert.Equal(TicketStatus.Open, ticket.Status);
        Assert.Equal("1", ticket.RawState);
        Assert.Equal("Access Request for Bob", ticket.Summary);
        Assert.Equal(org.CatalogItem, ticket.CatalogItem);
        Assert.Equal("AccessGrant", ticket.Fields[RequestFields.RequestType]);
        Assert.Equal("grp-finance-read", ticket.Fields[RequestFields.Entitlements]);
        Assert.Equal("Quarter close reporting needs read access", ticket.Fields[RequestFields.Justification]);
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
        Assert.False(ticket.Fields.ContainsKey(RequestFields.RequestedFor)); // a person, not text

        Assert.Equal(new ItsmPerson(org.Bob, "Bob Target", "bob@contoso.com", "E200", "bob"), ticket.People[RequestFields.RequestedFor]);
        Assert.Equal(new ItsmPerson(org.Alice, "Alice Requester", "alice@contoso.com", "E100", "alice"), ticket.OpenedBy);
        Assert.Equal(T0, ticket.CreatedAt);
        Assert.Equal(T0, ticket.UpdatedAt);
        Assert.Empty(ticket.Approvals);
        Assert.Empty(ticket.MaterialChanges);
        Assert.Empty(host.Sandbox.Tables.InvalidQueryTerms);
    }

    [Fact]
    public async Task Read_RequestedForVariableAbsent_UsesTheItemsRequestedFor()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = org.CatalogItem, RequestedFor = org.Dave, OpenedBy = org.Alice,
            Variables = new Dictionary<string, string> { ["entitlements"] = "grp-a" },
        });

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(org.Dave, ticket.People[RequestFields.RequestedFor].ItsmId);
        Assert.Equal("dave@contoso.com", ticket.People[RequestFields.RequestedFor].Email);
    }

    [Fact]
    public async Task Read_RequestedForVariable_WinsOverTheItemsField()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = org.CatalogItem, RequestedFor = org.Alice, OpenedBy = org.Alice,
            Variables = new Dictionary<string, string> { ["requested_for"] = org.Bob, ["verified_by"] = org.Erin },
            VariableTypes = new Dictionary<string, int> { ["requested_for"] = 8, ["verified_by"] = 8 },
        });

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal("bob", ticket.People[RequestFields.RequestedFor].UserName);
        Assert.Equal("erin@contoso.com", ticket.People[RequestFields.VerifiedBy].Email);
    }

    [Fact]
    public async Task Read_PersonVariableThatIsNoUser_StaysAnUnmatchablePointer()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org, new Dictionary<string, string> { ["requested_for"] = "bob@contoso.com" });

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        // Never a guess: not the item's requested_for, and nothing to match on.
        var person = ticket.People[RequestFields.RequestedFor];
        Assert.Equal("bob@contoso.com", person.ItsmId);
        Assert.Null(person.Email);
        Assert.Null(person.EmployeeNumber);
    }

    [Fact]
    public async Task Read_DateTimeVariable_IsUtcIso8601()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(
            org,
            new Dictionary<string, string> { ["termination_date"] = "2026-03-31 17:00:00", ["verified_at"] = "2026-03-01 23:30:05", ["start_date"] = "2026-04-01" },
            types: new Dictionary<string, int> { ["termination_date"] = 10, ["verified_at"] = 10, ["start_date"] = 9 });

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal("2026-03-31T17:00:00Z", ticket.Fields[RequestFields.TerminationDate]);
        Assert.Equal("2026-03-01T23:30:05Z", ticket.Fields[RequestFields.VerifiedAt]);
        Assert.Equal("2026-04-01", ticket.Fields[RequestFields.StartDate]);
    }

    [Fact]
    public async Task Read_ItemAndParentApprovals_AreReadWithScopeStateAndTimes()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        var onItem = host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), createdAt: T0.AddMinutes(1));
        var onRequest = host.Sandbox.AddApproval(ritm.RequestSysId, org.Dave, "approved", decidedAt: T0.AddMinutes(7), createdAt: T0.AddMinutes(2));
        var pending = host.Sandbox.AddApproval(ritm.SysId, org.Erin, "requested", createdAt: T0.AddMinutes(3));

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(3, ticket.Approvals.Count);
        var item = Assert.Single(ticket.Approvals, a => a.Id == onItem);
        Assert.Equal(ApprovalScope.Item, item.Scope);
        Assert.Equal(ApprovalState.Approved, item.State);
        Assert.Equal(T0.AddMinutes(5), item.DecidedAt);
        Assert.Equal(T0.AddMinutes(1), item.CreatedAt);
        Assert.Equal(new ItsmPerson(org.Carol, "Carol Manager", "carol@contoso.com", "E300", "carol"), item.Approver);
        Assert.Null(item.ActedBy);
        var parent = Assert.Single(ticket.Approvals, a => a.Id == onRequest);
        Assert.Equal(ApprovalScope.ParentRequest, parent.Scope);
        Assert.Equal("dave", parent.Approver.UserName);
        var open = Assert.Single(ticket.Approvals, a => a.Id == pending);
        Assert.Equal(ApprovalState.Requested, open.State);
        Assert.Null(open.DecidedAt);
    }

    [Fact]
    public async Task Read_ApprovalThatNamesTheItemOnlyInDocumentId_IsRead()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.Tables.Insert("sysapproval_approver", new Dictionary<string, string?>
        {
            ["approver"] = org.Carol, ["state"] = "approved", ["document_id"] = ritm.SysId, ["source_table"] = "sc_req_item",
        }, "carol");

        var approval = Assert.Single((await host.TicketSystem.ReadAsync(ritm.SysId, default)).Approvals);

        Assert.Equal(ApprovalState.Approved, approval.State);
        Assert.Equal(ApprovalScope.Item, approval.Scope);
        Assert.Null(approval.ActedBy);
    }

    [Theory]
    [InlineData("approved", ApprovalState.Approved)]
    [InlineData("rejected", ApprovalState.Rejected)]
    [InlineData("requested", ApprovalState.Requested)]
    [InlineData("cancelled", ApprovalState.Cancelled)]
    [InlineData("not_required", ApprovalState.NotRequired)]
    [InlineData("not requested", ApprovalState.NotRequested)]
    [InlineData("skipped", ApprovalState.Skipped)]
    [InlineData("duplicate", ApprovalState.Requested)]
    public async Task Read_ApprovalStateString_MapsToApprovalState(string raw, ApprovalState expected)
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, raw, decidedAt: T0.AddMinutes(1));

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(expected, Assert.Single(ticket.Approvals).State);
    }

    [Fact]
    public async Task Read_ApprovalByDelegate_RecordsWhoActed()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), actedByUserName: "dave");

        var approval = Assert.Single((await host.TicketSystem.ReadAsync(ritm.SysId, default)).Approvals);

        Assert.Equal(org.Carol, approval.Approver.ItsmId);
        Assert.Equal(new ItsmPerson(org.Dave, "Dave Delegate", "dave@contoso.com", "E400", "dave"), approval.ActedBy);
    }

    [Fact]
    public async Task Read_ApprovalActedOnByUnknownUser_IsStillSomeoneElse()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), actedByUserName: "ghost.user");

        var approval = Assert.Single((await host.TicketSystem.ReadAsync(ritm.SysId, default)).Approvals);

        Assert.NotNull(approval.ActedBy);
        Assert.Equal("ghost.user", approval.ActedBy.UserName);
        Assert.NotEqual(approval.Approver.ItsmId, approval.ActedBy.ItsmId);
        Assert.Null(approval.ActedBy.Email);
    }

    [Fact]
    public async Task Read_ApprovalLastUpdatedByIntegrationUser_IsNotADelegate()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), actedByUserName: host.Sandbox.Options.IntegrationUserName);

        var approval = Assert.Single((await host.TicketSystem.ReadAsync(ritm.SysId, default)).Approvals);

        Assert.Null(approval.ActedBy);
    }

    [Fact]
    public async Task Read_RejectedApproval_CarriesTheLatestComment()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        var rejected = host.Sandbox.AddApproval(ritm.SysId, org.Carol, "rejected", decidedAt: T0.AddMinutes(5), comment: "Bob moved to Sales; not needed");
        host.Sandbox.AddApproval(ritm.SysId, org.Dave, "approved", decidedAt: T0.AddMinutes(6), comment: "fine by me");

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        var approval = Assert.Single(ticket.Approvals, a => a.Id == rejected);
        Assert.Equal(ApprovalState.Rejected, approval.State);
        Assert.Equal("Bob moved to Sales; not needed", approval.Comment);
        Assert.Null(Assert.Single(ticket.Approvals, a => a.State == ApprovalState.Approved).Comment);
    }

    [Fact]
    public async Task Read_DelegateOnParentRequest_IsResolvedInAThirdWave()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.RequestSysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), actedByUserName: "dave");
        host.Sandbox.AddApproval(ritm.RequestSysId, org.Erin, "rejected", decidedAt: T0.AddMinutes(6), comment: "duplicate request");

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        var delegated = Assert.Single(ticket.Approvals, a => a.State == ApprovalState.Approved);
        Assert.Equal(ApprovalScope.ParentRequest, delegated.Scope);
        Assert.Equal(org.Dave, delegated.ActedBy?.ItsmId);
        Assert.Equal("duplicate request", Assert.Single(ticket.Approvals, a => a.State == ApprovalState.Rejected).Comment);
    }

    [Fact]
    public async Task Read_AuditOfItemAndMappedVariables_BecomesMaterialChanges()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org, new Dictionary<string, string> { ["notes"] = "free text" });
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5));
        host.Sandbox.UpdateVariable(ritm.SysId, "entitlements", "grp-finance-admin", "alice", T0.AddMinutes(10));
        host.Sandbox.UpdateVariable(ritm.SysId, "notes", "more free text", "alice", T0.AddMinutes(11)); // not mapped: not material
        host.Sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["requested_for"] = org.Dave }, "alice", T0.AddMinutes(12));
        host.Sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["short_description"] = "typo fixed" }, "alice", T0.AddMinutes(13));

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Collection(
            ticket.MaterialChanges,
            c => Assert.Equal(new FieldChange(RequestFields.Entitlements, T0.AddMinutes(10), "alice", "grp-finance-read", "grp-finance-admin"), c),
            c => Assert.Equal(new FieldChange(RequestFields.RequestedFor, T0.AddMinutes(12), "alice", org.Bob, org.Dave), c));
        Assert.Equal(T0.AddMinutes(12), ticket.LastMaterialChange);
        Assert.Equal("grp-finance-admin", ticket.Fields[RequestFields.Entitlements]);
    }

    [Fact]
    public async Task Read_UnknownSysId_ThrowsTicketNotFound()
    {
        using var host = ServiceNowTestHost.Start();
        var missing = Guid.NewGuid().ToString("N");

        var ex = await Assert.ThrowsAsync<TicketNotFoundException>(() => host.TicketSystem.ReadAsync(missing, default));

        Assert.Equal(new TicketRef(TicketSystemKind.ServiceNow, missing), ex.Ticket);
    }

    [Theory]
    [InlineData("RITM0010001")]
    [InlineData("0123456789abcdef0123456789abcde^ORactive=true")]
    [InlineData("0123456789abcdef0123456789abcdeg")]
    [InlineData("")]
    public async Task Read_KeyThatIsNotASysId_ThrowsBeforeAnyCall(string key)
    {
        using var host = ServiceNowTestHost.Start();

        await Assert.ThrowsAsync<ArgumentException>(() => host.TicketSystem.ReadAsync(key, default));

        Assert.Empty(host.Sandbox.Calls);
    }

    [Fact]
    public async Task Read_TakesTwoWavesOfParallelCalls()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        host.Sandbox.AddApproval(ritm.SysId, org.Carol, "approved", decidedAt: T0.AddMinutes(5), actedByUserName: "dave");
        await host.TicketSystem.ReadAsync(ritm.SysId, default); // warm up connections and JIT
        host.Sandbox.ResetCalls();
        host.Sandbox.Latency = TimeSpan.FromMilliseconds(150);

        await host.TicketSystem.ReadAsync(ritm.SysId, default);

        // Wave 1: item, variables, approvals, item audit. Wave 2: parent approvals, variable audit, users (person variable + delegate).
        Assert.Equal(7, host.Sandbox.CallCount("GET"));
        Assert.Equal([1, 1, 1, 1, 2, 2, 2], host.Sandbox.Calls.Select(c => c.Wave).Order());
        Assert.All(host.Sandbox.Calls, c =>
        {
            Assert.Equal("application/json", c.Headers["Accept"]);
            Assert.Contains("sysparm_exclude_reference_link=true", c.Query, StringComparison.Ordinal);
        });
        Assert.True(host.Sandbox.PeakConcurrency >= 4, $"peak concurrency {host.Sandbox.PeakConcurrency}");
    }

    [Fact]
    public async Task Read_CatalogItemMapping_WinsOverTheRequestTypeVariable()
    {
        using var bySysId = ServiceNowTestHost.Start(s => s["ServiceNow:CatalogItems:0123456789abcdef0123456789abcdef"] = "AccessRemoval");
        var org = bySysId.SeedOrg();
        var item = bySysId.Sandbox.AddCatalogItem("Remove Access", "0123456789abcdef0123456789abcdef");
        var ritm = bySysId.Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = item, RequestedFor = org.Bob, OpenedBy = org.Alice,
            Variables = new Dictionary<string, string> { ["request_type"] = "AccessGrant", ["entitlements"] = "grp-a" },
        });

        Assert.Equal("AccessRemoval", (await bySysId.TicketSystem.ReadAsync(ritm.SysId, default)).Fields[RequestFields.RequestType]);

        using var byName = ServiceNowTestHost.Start(s => s["ServiceNow:CatalogItems:Access Request"] = "MfaReset");
        var org2 = byName.SeedOrg();
        var ritm2 = byName.SeedGrant(org2);
        Assert.Equal("MfaReset", (await byName.TicketSystem.ReadAsync(ritm2.SysId, default)).Fields[RequestFields.RequestType]);
    }

    [Fact]
    public async Task Read_FieldMapOverride_ReadsTheConfiguredVariableAndKeepsTheOtherDefaults()
    {
        using var host = ServiceNowTestHost.Start(s =>
        {
            s["ServiceNow:FieldMap:Entitlements"] = "u_groups";
            s["ServiceNow:FieldMap:Justification"] = "";
        });
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org, new Dictionary<string, string> { ["u_groups"] = "grp-x;grp-y" });

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal("grp-x;grp-y", ticket.Fields[RequestFields.Entitlements]);
        Assert.False(ticket.Fields.ContainsKey(RequestFields.Justification));
        Assert.Equal("2026-12-31", ticket.Fields[RequestFields.EndDate]);
    }

    [Theory]
    [InlineData("1", TicketStatus.Open)]
    [InlineData("2", TicketStatus.InProgress)]
    [InlineData("-5", TicketStatus.AwaitingCustomer)]
    [InlineData("3", TicketStatus.Closed)]
    [InlineData("4", TicketStatus.Closed)]
    [InlineData("7", TicketStatus.Closed)]
    public async Task Read_State_MapsToStatus(string state, TicketStatus expected)
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg(), state: state);

        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        Assert.Equal(expected, ticket.Status);
        Assert.Equal(state, ticket.RawState);
    }
}
