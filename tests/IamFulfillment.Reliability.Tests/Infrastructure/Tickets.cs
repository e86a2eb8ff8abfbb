using System.Globalization;
using System.Net.Http.Headers;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;

namespace IamFulfillment.Reliability.Tests.Infrastructure;

/// <summary>A ticket the tests created, with what it should end as.</summary>
public sealed record TestTicket(TicketRef Ref, string Person, string Number, Outcome Expected, string? GroupId)
{
    public TicketSystemKind System => Ref.System;
    public string Key => Ref.Key;
}

/// <summary>Tickets for the reliability suites: standard grants for fresh employees (so each one is exactly one directory change), and the other outcomes.</summary>
public static class Tickets
{
    public const string Entitlement = "finance-reports-read";
    private static int _people;

    /// <summary>A new Finance employee managed by grace: nothing held yet, so a grant is exactly one change.</summary>
    public static string NewEmployee(SandboxWorld world)
    {
        var n = Interlocked.Increment(ref _people);
        var key = $"emp{n.ToString("D5", CultureInfo.InvariantCulture)}";
        world.Demo.AddEmployee(key, $"Test Employee{n.ToString(CultureInfo.InvariantCulture)}", "Finance", "grace");
        return key;
    }

    /// <summary>A ServiceNow standard grant for <paramref name="person"/>, approved by grace: fulfilled.</summary>
    public static TestTicket ServiceNowGrant(SandboxWorld world, string person, string entitlement = Entitlement)
    {
        var now = world.ServiceNow.Time.GetUtcNow();
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, string>
        {
            ["entitlements"] = entitlement,
            ["business_justification"] = "Monthly close reporting for the EMEA ledger",
        }, now.AddMinutes(-10));
        world.Demo.ServiceNowApproval(ritm.SysId, "grace", at: now.AddMinutes(-5));
        return new TestTicket(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), person, ritm.Number, Outcome.Fulfilled, DemoOrganisation.Groups[entitlement]);
    }

    /// <summary>A ServiceNow grant with a placeholder justification: one comment listing the problems, no change.</summary>
    public static TestTicket ServiceNowNeedsInfo(SandboxWorld world, string person)
    {
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, string>
        {
            ["entitlements"] = Entitlement,
            ["business_justification"] = "n/a",
        }, world.ServiceNow.Time.GetUtcNow().AddMinutes(-10));
        world.Demo.ServiceNowApproval(ritm.SysId, "grace");
        return new TestTicket(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), person, ritm.Number, Outcome.NeedsInfo, null);
    }

    /// <summary>A ServiceNow privileged grant: escalated to people, no change.</summary>
    public static TestTicket ServiceNowPrivileged(SandboxWorld world, string person)
    {
        var now = world.ServiceNow.Time.GetUtcNow();
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, string>
        {
            ["entitlements"] = "prod-admins",
            ["business_justification"] = "Restart the payments service during on-call",
            ["end_date"] = now.AddDays(7).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        }, now.AddMinutes(-10));
        world.Demo.ServiceNowApproval(ritm.SysId, "grace", at: now.AddMinutes(-5));
        return new TestTicket(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), person, ritm.Number, Outcome.Escalated, null);
    }

    /// <summary>A ServiceNow grant the manager rejected: closed incomplete, no change.</summary>
    public static TestTicket ServiceNowRejected(SandboxWorld world, string person)
    {
        var ritm = world.Demo.ServiceNowTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, string>
        {
            ["entitlements"] = Entitlement,
            ["business_justification"] = "Monthly close reporting for the EMEA ledger",
        }, world.ServiceNow.Time.GetUtcNow().AddMinutes(-10));
        world.Demo.ServiceNowApproval(ritm.SysId, "grace", approve: false, comment: "Not needed for your role");
        return new TestTicket(new TicketRef(TicketSystemKind.ServiceNow, ritm.SysId), person, ritm.Number, Outcome.Rejected, null);
    }

    /// <summary>A Jira standard grant for <paramref name="person"/>, approved by grace: fulfilled.</summary>
    public static TestTicket JiraGrant(SandboxWorld world, string person, string entitlement = Entitlement)
    {
        var key = world.Demo.JiraTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.Entitlements] = entitlement,
            [DemoOrganisation.JiraFields.Justification] = "Monthly close reporting for the EMEA ledger",
        });
        world.Demo.JiraApproval(key, "grace");
        return new TestTicket(new TicketRef(TicketSystemKind.Jira, key), person, key, Outcome.Fulfilled, DemoOrganisation.Groups[entitlement]);
    }

    /// <summary>A Jira grant with a placeholder justification: NeedsInfo.</summary>
    public static TestTicket JiraNeedsInfo(SandboxWorld world, string person)
    {
        var key = world.Demo.JiraTicket(DemoRequest.AccessGrant, person, person, new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.Entitlements] = Entitlement,
            [DemoOrganisation.JiraFields.Justification] = "n/a",
        });
        world.Demo.JiraApproval(key, "grace");
        return new TestTicket(new TicketRef(TicketSystemKind.Jira, key), person, key, Outcome.NeedsInfo, null);
    }

    /// <summary>A Jira MFA reset of <paramref name="person"/> verified by lynn: a Temporary Access Pass mailed to the manager.</summary>
    public static TestTicket JiraMfaReset(SandboxWorld world, string person)
    {
        var key = world.Demo.JiraTicket(DemoRequest.MfaReset, person, "lynn", new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.VerificationMethod] = "video-call-with-photo-id",
            [DemoOrganisation.JiraFields.VerifiedBy] = world.Demo.JiraUserValue("lynn"),
            [DemoOrganisation.JiraFields.VerifiedAt] = world.Jira!.Time.GetUtcNow().AddMinutes(-3).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            [DemoOrganisation.JiraFields.Reason] = "Lost phone; new device",
        });
        return new TestTicket(new TicketRef(TicketSystemKind.Jira, key), person, key, Outcome.Fulfilled, null);
    }

    /// <summary>The delivery the ITSM would send for the ticket now (a new delivery id each time).</summary>
    public static object Delivery(SandboxWorld world, TestTicket ticket) => ticket.System == TicketSystemKind.ServiceNow
        ? world.ServiceNow.BuildWebhook(ticket.Key)
        : world.Jira!.BuildWebhook(ticket.Key, "jira:issue_created");

    /// <summary>Posts a delivery (<see cref="SandboxWebhook"/> or <see cref="JiraWebhookDelivery"/>) to the host's route.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, object delivery)
    {
        using var request = Request(http.BaseAddress!, delivery);
        return await http.SendAsync(request);
    }

    public static HttpRequestMessage Request(Uri baseAddress, object delivery)
    {
        switch (delivery)
        {
            case SandboxWebhook sn:
                return sn.ToRequest(baseAddress);
            case JiraWebhookDelivery jira:
                var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "/api/webhooks/jira")) { Content = new ByteArrayContent(jira.Body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                foreach (var (name, value) in jira.Headers.Where(h => !h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                return request;
            default:
                throw new ArgumentException($"Not a delivery: {delivery.GetType().Name}", nameof(delivery));
        }
    }
}
