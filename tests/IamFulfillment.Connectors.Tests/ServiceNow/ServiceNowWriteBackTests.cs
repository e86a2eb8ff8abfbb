using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.ServiceNow;

public class ServiceNowWriteBackTests
{
    private const string Marker = "[iamf:3f2a9c1e:fulfil]";

    [Fact]
    public async Task WriteBack_Fulfilled_SendsOnePatchWithCommentNoteAndState()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.ResetCalls();

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Fulfilled,
            CustomerComment = "You now have Finance read access until 31 December 2026.",
            InternalNote = "Added bob to grp-finance-read (directory request id 42).",
            Marker = Marker,
        }, default);

        var call = Assert.Single(host.Sandbox.Calls);
        Assert.Equal("PATCH", call.Method);
        Assert.Equal($"/api/now/table/sc_req_item/{ritm.SysId}", call.Path);
        Assert.Equal(204, call.Status); // X-no-response-body honoured
        Assert.Equal("application/json", call.Headers["Accept"]);
        Assert.StartsWith("application/json", call.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal("true", call.Headers["X-no-response-body"]);
        Assert.Equal("Basic", call.Headers["Authorization"]);

        var item = host.Sandbox.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal("3", item["state"]);
        Assert.Equal("", item["assignment_group"]);
        var journal = host.Sandbox.JournalOf(ritm.SysId);
        Assert.Equal(2, journal.Count);
        Assert.All(journal, e => Assert.Equal(host.Sandbox.Options.IntegrationUserName, e.CreatedBy));
        var comment = Assert.Single(journal, e => e.Element == "comments");
        Assert.Equal("You now have Finance read access until 31 December 2026.\n" + Marker, comment.Value);
        var note = Assert.Single(journal, e => e.Element == "work_notes");
        Assert.Equal("Added bob to grp-finance-read (directory request id 42).\n" + Marker, note.Value);
    }

    [Theory]
    [InlineData(Outcome.Fulfilled, "3")]
    [InlineData(Outcome.NeedsInfo, "-5")]
    [InlineData(Outcome.Rejected, "4")]
    [InlineData(Outcome.Escalated, "1")] // States:Escalated is empty by default: the state stays
    public async Task WriteBack_Outcome_SetsTheConfiguredState(Outcome outcome, string expectedState)
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = outcome, CustomerComment = "text", Marker = Marker }, default);

        Assert.Equal(expectedState, host.Sandbox.Record("sc_req_item", ritm.SysId)!["state"]);
    }

    [Fact]
    public async Task WriteBack_ConfiguredStates_AreUsed()
    {
        using var host = ServiceNowTestHost.Start(s =>
        {
            s["ServiceNow:States:Fulfilled"] = "7";
            s["ServiceNow:States:Escalated"] = "2";
        });
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Escalated, InternalNote = "n", Marker = Marker }, default);
        Assert.Equal("2", host.Sandbox.Record("sc_req_item", ritm.SysId)!["state"]);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, InternalNote = "n", Marker = Marker + "2" }, default);
        Assert.Equal("7", host.Sandbox.Record("sc_req_item", ritm.SysId)!["state"]);
    }

    [Fact]
    public async Task WriteBack_Escalated_AssignsTheQueuesGroupInTheSamePatch()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.ResetCalls();

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated,
            CustomerComment = "A person on the IAM team will handle this request.",
            InternalNote = "Escalated: privileged tier.",
            Marker = Marker,
            Queue = new EscalationQueue { Id = "iam-privileged", ServiceNowAssignmentGroup = org.Group },
        }, default);

        Assert.Equal(1, host.Sandbox.CallCount("PATCH"));
        Assert.Single(host.Sandbox.Calls);
        var item = host.Sandbox.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal(org.Group, item["assignment_group"]);
        Assert.Equal("1", item["state"]);
        Assert.Equal(2, host.Sandbox.JournalOf(ritm.SysId).Count);
    }

    [Fact]
    public async Task WriteBack_EscalationQueueWithoutSysId_WritesTheNoteAndSaysWhyItWasNotReassigned()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated,
            InternalNote = "Escalated: SoD conflict.",
            Marker = Marker,
            Queue = new EscalationQueue { Id = "iam-privileged", ServiceNowAssignmentGroup = "IAM Privileged" },
        }, default);

        Assert.Equal("", host.Sandbox.Record("sc_req_item", ritm.SysId)!["assignment_group"]);
        var note = Assert.Single(host.SeedJournal(ritm.SysId));
        Assert.StartsWith("Escalated: SoD conflict.\n\nThe escalation queue \"iam-privileged\" names an assignment group that is not a sys_id", note.Value, StringComparison.Ordinal);
        Assert.EndsWith("\n" + Marker, note.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteBack_ChangeStateFalse_WritesTheNoteOnly()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated,
            InternalNote = "Dry run: would escalate (privileged tier).",
            Marker = Marker,
            ChangeState = false,
            Queue = new EscalationQueue { Id = "iam-privileged", ServiceNowAssignmentGroup = org.Group },
        }, default);

        var item = host.Sandbox.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal("1", item["state"]);
        Assert.Equal("", item["assignment_group"]);
        Assert.Equal("work_notes", Assert.Single(host.Sandbox.JournalOf(ritm.SysId)).Element);
    }

    [Fact]
    public async Task WriteBack_CodeTagsAndHtml_AreNeutralised()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.NeedsInfo,
            CustomerComment = "Justification given: [code]<img src=x onerror=alert(1)>[/code] <b>please</b>",
            Marker = Marker,
        }, default);

        var value = Assert.Single(host.Sandbox.JournalOf(ritm.SysId)).Value;
        Assert.DoesNotContain("[code]", value, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("[/code]", value, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('<', value);
        Assert.DoesNotContain('>', value);
        Assert.EndsWith("\n" + Marker, value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteBack_TheServicesOwnChanges_AreNotMaterial()
    {
        using var host = ServiceNowTestHost.Start();
        var org = host.SeedOrg();
        var ritm = host.SeedGrant(org);
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack
        {
            Outcome = Outcome.Escalated, InternalNote = "n", Marker = Marker,
            Queue = new EscalationQueue { Id = "q", ServiceNowAssignmentGroup = org.Group },
        }, default);

        Assert.Empty((await host.TicketSystem.ReadAsync(ritm.SysId, default)).MaterialChanges);
    }

    [Fact]
    public async Task WriteBack_NothingToWrite_MakesNoCall()
    {
        using var host = ServiceNowTestHost.Start(s => s["ServiceNow:States:Escalated"] = "");
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.ResetCalls();

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Escalated, Marker = Marker }, default);

        Assert.Empty(host.Sandbox.Calls);
    }

    [Fact]
    public async Task WriteBack_DeletedTicket_ThrowsTicketNotFound()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.Tables.Delete("sc_req_item", ritm.SysId);

        await Assert.ThrowsAsync<TicketNotFoundException>(() =>
            host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "x", Marker = Marker }, default));
    }

    [Fact]
    public async Task WriteBack_TicketOfAnotherSystem_IsRefused()
    {
        using var host = ServiceNowTestHost.Start();
        var jira = new TicketSnapshot { Ref = new TicketRef(TicketSystemKind.Jira, "HR-12"), Number = "HR-12", Status = TicketStatus.Open, RawState = "Open" };

        await Assert.ThrowsAsync<ArgumentException>(() =>
            host.TicketSystem.WriteBackAsync(jira, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "x", Marker = Marker }, default));
        Assert.Empty(host.Sandbox.Calls);
    }

    [Fact]
    public async Task ShowsMarker_AfterWriteBack_IsTrue_AndForAnotherMarkerFalse()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        Assert.False(await host.TicketSystem.ShowsMarkerAsync(ticket, Marker, default));

        await host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.NeedsInfo, CustomerComment = "Please add an end date.", Marker = Marker }, default);
        host.Sandbox.ResetCalls();

        Assert.True(await host.TicketSystem.ShowsMarkerAsync(ticket, Marker, default));
        Assert.False(await host.TicketSystem.ShowsMarkerAsync(ticket, "[iamf:3f2a9c1e:escalate]", default));
        var call = host.Sandbox.Calls[0];
        Assert.Equal("/api/now/table/sys_journal_field", call.Path);
        Assert.Contains("sysparm_limit=1", call.Query, StringComparison.Ordinal);
        Assert.Empty(host.Sandbox.Tables.InvalidQueryTerms);
    }

    [Fact]
    public async Task ShowsMarker_MarkerCopiedByAPerson_DoesNotCount()
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.UpdateRecord("sc_req_item", ritm.SysId, new Dictionary<string, string?> { ["comments"] = "pasting this: " + Marker }, "alice");

        Assert.False(await host.TicketSystem.ShowsMarkerAsync(ticket, Marker, default));
    }

    [Theory]
    [InlineData("[iamf:1]^ORelement_idISNOTEMPTY")]
    [InlineData("javascript:gs.getUserName()")]
    [InlineData("line\nbreak")]
    [InlineData("")]
    public async Task ShowsMarker_MarkerThatCouldChangeTheQuery_IsRefusedBeforeAnyCall(string marker)
    {
        using var host = ServiceNowTestHost.Start();
        var ritm = host.SeedGrant(host.SeedOrg());
        var ticket = await host.TicketSystem.ReadAsync(ritm.SysId, default);
        host.Sandbox.ResetCalls();

        await Assert.ThrowsAsync<ArgumentException>(() => host.TicketSystem.ShowsMarkerAsync(ticket, marker, default));
        await Assert.ThrowsAsync<ArgumentException>(() =>
            host.TicketSystem.WriteBackAsync(ticket, new WriteBack { Outcome = Outcome.Fulfilled, CustomerComment = "x", Marker = marker }, default));
        Assert.Empty(host.Sandbox.Calls);
    }
}

internal static class JournalTestExtensions
{
    public static IReadOnlyList<IamFulfillment.Sandbox.ServiceNow.SandboxJournalEntry> SeedJournal(this ServiceNowTestHost host, string sysId) =>
        host.Sandbox.JournalOf(sysId);
}
