using System.Globalization;
using System.Net.Http.Headers;
using IamFulfillment.Core.Model;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Graph;

namespace IamFulfillment.Benchmarks;

/// <summary>A seeded ticket ready to be announced by webhook; every one is for a fresh employee, so each is fulfilled.</summary>
public sealed class PreparedTicket(Scenario scenario, string key, Func<Uri, HttpRequestMessage> webhook)
{
    public Scenario Scenario { get; } = scenario;

    /// <summary>The sys_id (ServiceNow) or issue key (Jira).</summary>
    public string Key { get; } = key;

    public TicketRef Ref => new(Scenario.System == Itsm.ServiceNow ? TicketSystemKind.ServiceNow : TicketSystemKind.Jira, Key);

    /// <summary>The signed delivery as the ITSM would send it now.</summary>
    public HttpRequestMessage Webhook(Uri host) => webhook(host);
}

/// <summary>
/// Seeds tickets the policy fulfils automatically: a Finance employee asking for a standard group with the manager's
/// approval; an employee removing a group they hold; HR filing a leaver (with the employee number) effective now; the
/// service desk filing an MFA reset after a video call. Each ticket gets its own new employee, so no ticket finds its
/// work already done by an earlier one, and the per-person MFA limit never trips.
/// </summary>
public sealed class TicketFactory(SandboxWorld world)
{
    private static readonly string[] LeaverGroups = ["engineering-team", "engineering-wiki", "licence-m365-e5"];
    private int _people;

    private DemoOrganisation Demo => world.Demo;

    public PreparedTicket Create(Scenario scenario)
    {
        var now = world.ServiceNow.Time.GetUtcNow();
        var n = Interlocked.Increment(ref _people).ToString(CultureInfo.InvariantCulture);
        return (scenario.System, scenario.Request) switch
        {
            (Itsm.ServiceNow, DemoRequest.AccessGrant) => ServiceNow(scenario, Grant(n), "grace", p => new()
            {
                ["entitlements"] = "finance-reports-read",
                ["business_justification"] = "Monthly close reporting for the EMEA ledger",
            }, p => p, now),
            (Itsm.ServiceNow, DemoRequest.AccessRemoval) => ServiceNow(scenario, Removal(n), null, p => new()
            {
                ["entitlements"] = "engineering-wiki",
            }, p => p, now),
            (Itsm.ServiceNow, DemoRequest.Leaver) => ServiceNow(scenario, Leaver(n), null, p => new()
            {
                ["termination_date"] = now.AddMinutes(-5).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                ["employee_number"] = world.Graph.User(p.GraphId)!.EmployeeId!,
                ["reason"] = "Resignation",
            }, _ => "hedy", now),
            (Itsm.ServiceNow, DemoRequest.MfaReset) => ServiceNow(scenario, Mfa(n), null, p => new()
            {
                ["verification_method"] = "video-call-with-photo-id",
                ["verified_by"] = Demo["lynn"].ServiceNowSysId,
                ["verified_at"] = now.AddMinutes(-3).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                ["reason"] = "Lost phone; new device",
            }, _ => "lynn", now),
            (Itsm.Jira, DemoRequest.AccessGrant) => Jira(scenario, Grant(n), "grace", null, p => new()
            {
                [DemoOrganisation.JiraFields.Entitlements] = "finance-reports-read",
                [DemoOrganisation.JiraFields.Justification] = "Monthly close reporting for the EMEA ledger",
            }),
            (Itsm.Jira, DemoRequest.AccessRemoval) => Jira(scenario, Removal(n), null, null, p => new()
            {
                [DemoOrganisation.JiraFields.Entitlements] = "engineering-wiki",
            }),
            (Itsm.Jira, DemoRequest.Leaver) => Jira(scenario, Leaver(n), null, "hedy", p => new()
            {
                [DemoOrganisation.JiraFields.RequestedFor] = Demo.JiraUserValue(p.Key),
                [DemoOrganisation.JiraFields.TerminationDate] = now.AddMinutes(-5).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
                [DemoOrganisation.JiraFields.EmployeeNumber] = world.Graph.User(p.GraphId)!.EmployeeId!,
                [DemoOrganisation.JiraFields.Reason] = "Resignation",
            }),
            (Itsm.Jira, DemoRequest.MfaReset) => Jira(scenario, Mfa(n), null, "lynn", p => new()
            {
                [DemoOrganisation.JiraFields.VerificationMethod] = "video-call-with-photo-id",
                [DemoOrganisation.JiraFields.VerifiedBy] = Demo.JiraUserValue("lynn"),
                [DemoOrganisation.JiraFields.VerifiedAt] = now.AddMinutes(-3).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
                [DemoOrganisation.JiraFields.Reason] = "Lost phone; new device",
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "No such scenario."),
        };
    }

    private DemoPerson Grant(string n) => Demo.AddEmployee($"bench-g{n}", $"Grant Analyst {n}", "Finance", "grace", "finance-team");

    private DemoPerson Removal(string n) => Demo.AddEmployee($"bench-r{n}", $"Removal Analyst {n}", "Finance", "grace", "finance-team", "engineering-wiki");

    private DemoPerson Leaver(string n) => Demo.AddEmployee($"bench-l{n}", $"Leaving Engineer {n}", "Engineering", "barbara", LeaverGroups);

    private DemoPerson Mfa(string n)
    {
        var person = Demo.AddEmployee($"bench-m{n}", $"Reset Analyst {n}", "Finance", "grace", "finance-team");
        world.Graph.AddAuthenticationMethod(person.GraphId, SandboxMethodTypes.MicrosoftAuthenticator, "iPhone");
        world.Graph.AddAuthenticationMethod(person.GraphId, SandboxMethodTypes.Phone, "+44 20 7946 0001");
        return person;
    }

    private PreparedTicket ServiceNow(Scenario scenario, DemoPerson person, string? approver, Func<DemoPerson, Dictionary<string, string>> variables,
        Func<string, string> openedBy, DateTimeOffset now)
    {
        var ritm = Demo.ServiceNowTicket(scenario.Request, person.Key, openedBy(person.Key), variables(person), now.AddMinutes(-10));
        if (approver is not null)
        {
            Demo.ServiceNowApproval(ritm.SysId, approver, at: now.AddMinutes(-5));
        }

        var sandbox = world.ServiceNow;
        return new PreparedTicket(scenario, ritm.SysId, host => sandbox.BuildWebhook(ritm.SysId).ToRequest(host));
    }

    private PreparedTicket Jira(Scenario scenario, DemoPerson person, string? approver, string? creator, Func<DemoPerson, Dictionary<string, object?>> fields)
    {
        var jira = world.Jira!;
        var key = Demo.JiraTicket(scenario.Request, person.Key, creator, fields(person));
        if (approver is not null)
        {
            Demo.JiraApproval(key, approver);
        }

        return new PreparedTicket(scenario, key, host =>
        {
            var delivery = jira.BuildWebhook(key, "jira:issue_created");
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host, "/api/webhooks/jira")) { Content = new ByteArrayContent(delivery.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            foreach (var (name, value) in delivery.Headers.Where(h => !h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        });
    }
}
