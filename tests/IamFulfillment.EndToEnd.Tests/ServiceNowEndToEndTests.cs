using System.Net;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>Issue 2: a ServiceNow access request end to end, through the webhook route, the queue, Graph and the write-back.</summary>
public sealed class ServiceNowEndToEndTests
{
    private static readonly Dictionary<string, string> GoodGrant = new()
    {
        ["entitlements"] = "finance-reports-read",
        ["business_justification"] = "Monthly close reporting for the EMEA ledger",
    };

    [Fact]
    public async Task StandardGrant_ApprovedByManager_IsFulfilledClosedAndAudited()
    {
        await using var s = await Scenario.StartAsync();
        var ritm = s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", GoodGrant, s.World.ServiceNow.Time.GetUtcNow().AddMinutes(-5));
        s.Demo.ServiceNowApproval(ritm.SysId, "grace");

        var answer = await s.Host.SendAsync(s.World.ServiceNow.BuildWebhook(ritm.SysId));
        var state = await s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId));

        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.True(s.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], s.Demo["ada"].GraphId));
        var item = s.World.ServiceNow.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal("3", item["state"]);
        var journal = s.World.ServiceNow.JournalOf(ritm.SysId);
        var comment = Assert.Single(journal, j => j.Element == "comments");
        Assert.Contains("Ada Lovelace now has access to Finance reports (read)", comment.Value, StringComparison.Ordinal);
        var note = Assert.Single(journal, j => j.Element == "work_notes");
        Assert.Contains("FULFILLED automatically", note.Value, StringComparison.Ordinal);
        Assert.Contains("The target's manager: approved by Grace Hopper", note.Value, StringComparison.Ordinal);
        Assert.Contains("Graph request-id", note.Value, StringComparison.Ordinal);
        var trail = await s.Host.TrailAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId));
        Assert.Empty(AuditChain.Verify(trail));
        Assert.Contains(trail, e => e.Kind == AuditKinds.ChangeApplied && e.Data["status"] == "Applied");
        Assert.Contains(trail, e => e.Kind == AuditKinds.Decision && e.Data["policy"]!.StartsWith("sha256:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrivilegedRequest_IsAssignedToThePrivilegedQueueWithANoteSayingWhy()
    {
        await using var s = await Scenario.StartAsync();
        var ritm = s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", new Dictionary<string, string>
        {
            ["entitlements"] = "prod-admins",
            ["business_justification"] = "Restart the payments service during on-call",
            ["end_date"] = s.World.ServiceNow.Time.GetUtcNow().AddDays(7).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        });
        s.Demo.ServiceNowApproval(ritm.SysId, "grace");

        await s.Host.SendAsync(s.World.ServiceNow.BuildWebhook(ritm.SysId));
        var state = await s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId));

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.TierPrivileged, state.Rule);
        Assert.False(s.World.Graph.IsMember(DemoOrganisation.Groups["prod-admins"], s.Demo["ada"].GraphId));
        Assert.Equal(0, s.World.Graph.Changes.DirectoryChanges);
        var item = s.World.ServiceNow.Record("sc_req_item", ritm.SysId)!;
        Assert.Equal(DemoOrganisation.AssignmentGroups["IAM Privileged Access"], item["assignment_group"]);
        var note = Assert.Single(s.World.ServiceNow.JournalOf(ritm.SysId), j => j.Element == "work_notes").Value;
        Assert.Contains("ESCALATION", note, StringComparison.Ordinal);
        Assert.Contains("Production administrators is privileged access", note, StringComparison.Ordinal);
        Assert.Contains("Target's current privileged/sensitive access", note, StringComparison.Ordinal);
        Assert.Contains(ritm.Number, note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFields_OneCommentListsEveryProblemAndTheItemGoesToPending()
    {
        await using var s = await Scenario.StartAsync();
        var ritm = s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "alan", "alan", new Dictionary<string, string>
        {
            ["entitlements"] = "finance-reports-read",
            ["business_justification"] = "n/a",
        });
        s.Demo.ServiceNowApproval(ritm.SysId, "grace");

        await s.Host.SendAsync(s.World.ServiceNow.BuildWebhook(ritm.SysId));
        var state = await s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId));

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal("-5", s.World.ServiceNow.Record("sc_req_item", ritm.SysId)!["state"]);
        var comment = Assert.Single(s.World.ServiceNow.JournalOf(ritm.SysId), j => j.Element == "comments").Value;
        Assert.Contains("1. ", comment, StringComparison.Ordinal);
        Assert.Contains("2. ", comment, StringComparison.Ordinal);
        Assert.Contains("placeholder", comment, StringComparison.Ordinal);
        Assert.Contains("end date", comment, StringComparison.Ordinal);
        Assert.Equal(0, s.World.Graph.Changes.DirectoryChanges);
    }

    [Fact]
    public async Task RejectedApproval_ClosesTheItemIncompleteWithTheApproversReason()
    {
        await using var s = await Scenario.StartAsync();
        var ritm = s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", GoodGrant);
        s.Demo.ServiceNowApproval(ritm.SysId, "grace", approve: false, comment: "Not needed for your role");

        await s.Host.SendAsync(s.World.ServiceNow.BuildWebhook(ritm.SysId));
        var state = await s.Host.WaitForRoundAsync(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId));

        Assert.Equal(Outcome.Rejected, state.Outcome);
        Assert.Equal("4", s.World.ServiceNow.Record("sc_req_item", ritm.SysId)!["state"]);
        var comment = Assert.Single(s.World.ServiceNow.JournalOf(ritm.SysId), j => j.Element == "comments").Value;
        Assert.Contains("Not needed for your role", comment, StringComparison.Ordinal);
        Assert.Equal(0, s.World.Graph.Changes.DirectoryChanges);
    }

    [Fact]
    public async Task SameDeliveryTenTimes_AndTenDeliveriesAtOnce_MakeOneChangeAndOneComment()
    {
        await using var s = await Scenario.StartAsync();
        var ritm = s.Demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", GoodGrant);
        s.Demo.ServiceNowApproval(ritm.SysId, "grace");
        var ticket = new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId);
        var once = s.World.ServiceNow.BuildWebhook(ritm.SysId);

        var repeated = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            repeated.Add((await s.Host.SendAsync(once)).StatusCode);
        }

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => s.Host.SendAsync(s.World.ServiceNow.BuildWebhook(ritm.SysId))));
        await s.Host.WaitForRoundAsync(ticket);
        await WaitForQueueToDrainAsync(s, ticket);

        Assert.Equal(HttpStatusCode.Accepted, repeated[0]);
        Assert.All(repeated.Skip(1), code => Assert.Equal(HttpStatusCode.OK, code));
        Assert.All(concurrent, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(1, s.World.Graph.Changes.MembershipsAdded);
        var journal = s.World.ServiceNow.JournalOf(ritm.SysId);
        Assert.Single(journal, j => j.Element == "comments");
        Assert.Single(journal, j => j.Element == "work_notes");
        Assert.Equal(1, s.World.ServiceNow.CallCount("PATCH"));
    }

    /// <summary>Every queued duplicate has been processed (each leaves a "skipped" event) before the assertions.</summary>
    private static async Task WaitForQueueToDrainAsync(Scenario s, TicketRef ticket)
    {
        for (var i = 0; i < 200; i++)
        {
            var trail = await s.Host.TrailAsync(ticket);
            if (trail.Count(e => e.Kind is AuditKinds.Skipped or AuditKinds.RoundCompleted) >= 11)
            {
                return;
            }

            await Task.Delay(100);
        }
    }
}
