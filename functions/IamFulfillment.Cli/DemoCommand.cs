using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using IamFulfillment.Host;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;
using IamFulfillment.Sandbox.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Cli;

/// <summary>
/// <c>iamf demo</c>: the main job on its embedded default. Starts Azurite, the ServiceNow, Jira and Graph sandboxes
/// seeded with a demo organisation, and the standalone host; drives realistic tickets through the real webhook
/// routes and prints, per ticket, the decision, the directory change and the write-back; then stops.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep-running") { Description = "Leave the host and the sandboxes running after the tickets (Ctrl+C stops)." };
        var verbose = new Option<bool>("--verbose") { Description = "Show the host's logs." };
        var command = new Command("demo", "Run the demo: a handful of tickets through the real webhook routes against sandbox ServiceNow, Jira and Graph.") { keep, verbose };
        command.SetAction((ParseResult result, CancellationToken cancellationToken) => RunAsync(result.GetValue(keep), result.GetValue(verbose), cancellationToken));
        return command;
    }

    /// <param name="configureHost">Lets a test see the world and change the host (its logging) after the demo's settings are in.</param>
    internal static async Task<int> RunAsync(bool keepRunning, bool verbose, CancellationToken cancellationToken, Action<SandboxWorld, WebApplicationBuilder>? configureHost = null)
    {
        var clock = Stopwatch.StartNew();
        Console.WriteLine("IamFulfillment demo — sandbox ServiceNow, Jira and Graph; Azurite storage; the standalone host.");
        Console.WriteLine("Starting Azurite (installing it with npm ci on first use) …");
        await using var world = await SandboxWorld.StartAsync(new SandboxWorldOptions { ShareAzurite = false }, cancellationToken);
        var (serviceNow, graph, jira, demo) = (world.ServiceNow, world.Graph, world.Jira!, world.Demo);
        var port = AzuriteRunner.FreePort();
        var settings = world.HostSettings();
        settings["urls"] = $"http://127.0.0.1:{port}";
        settings["Logging:LogLevel:Default"] = verbose ? "Information" : "Warning";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning";
        var app = StandaloneHost.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            configureHost?.Invoke(world, builder);
        });
        await app.StartAsync(cancellationToken);
        Console.WriteLine($"Host listening on http://127.0.0.1:{port} (started in {clock.Elapsed.TotalSeconds:0.0} s). ServiceNow sandbox {serviceNow.Url}, Jira sandbox {jira.Url}, Graph sandbox {graph.BaseUrl}.");
        Console.WriteLine();

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var store = app.Services.GetRequiredService<ITicketStore>();
        var scenarios = Scenarios(demo).ToList();
        var failures = 0;
        foreach (var scenario in scenarios)
        {
            var report = await scenario.RunAsync(http, store, cancellationToken);
            failures += report.AsExpected ? 0 : 1;
            Print(report);
        }

        Console.WriteLine($"{scenarios.Count - failures} of {scenarios.Count} tickets ended as expected; {graph.Changes.DirectoryChanges} directory change(s) made in all.");
        if (keepRunning)
        {
            Console.WriteLine();
            Console.WriteLine("Running. Webhook routes: POST /api/webhooks/servicenow and /api/webhooks/jira; GET /api/health. Ctrl+C stops.");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Stopped by the user.
            }
        }

        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        Console.WriteLine($"Stopped cleanly after {clock.Elapsed.TotalSeconds:0.0} s.");
        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<Scenario> Scenarios(DemoOrganisation demo)
    {
        var now = demo.ServiceNow.Time.GetUtcNow();
        var sn = demo.ServiceNow;

        var grant = demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", new Dictionary<string, string>
        {
            ["entitlements"] = "finance-reports-read",
            ["business_justification"] = "Monthly close reporting for the EMEA ledger",
        }, now.AddMinutes(-10));
        demo.ServiceNowApproval(grant.SysId, "grace", at: now.AddMinutes(-5));
        var grantWebhook = sn.BuildWebhook(grant.SysId);
        yield return Scenario.ServiceNow("Standard grant, approved by the manager", grant.Number, grant.SysId, demo, "Fulfilled",
            () => [grantWebhook], () => $"ada in finance-reports-read: {demo.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], demo["ada"].GraphId)}");

        var privileged = demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", new Dictionary<string, string>
        {
            ["entitlements"] = "prod-admins",
            ["business_justification"] = "Restart the payments service during my on-call week",
            ["end_date"] = now.AddDays(7).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        }, now.AddMinutes(-10));
        demo.ServiceNowApproval(privileged.SysId, "grace", at: now.AddMinutes(-5));
        yield return Scenario.ServiceNow("Privileged access, approved by the manager", privileged.Number, privileged.SysId, demo, "Escalated",
            () => [sn.BuildWebhook(privileged.SysId)], () => $"ada in prod-admins: {demo.Graph.IsMember(DemoOrganisation.Groups["prod-admins"], demo["ada"].GraphId)}");

        var incomplete = demo.ServiceNowTicket(DemoRequest.AccessGrant, "alan", "alan", new Dictionary<string, string>
        {
            ["entitlements"] = "finance-reports-read",
            ["business_justification"] = "n/a",
        }, now.AddMinutes(-10));
        demo.ServiceNowApproval(incomplete.SysId, "grace", at: now.AddMinutes(-5));
        yield return Scenario.ServiceNow("Contractor, placeholder justification, no end date", incomplete.Number, incomplete.SysId, demo, "NeedsInfo",
            () => [sn.BuildWebhook(incomplete.SysId)], () => $"alan in finance-reports-read: {demo.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], demo["alan"].GraphId)}");

        var rejected = demo.ServiceNowTicket(DemoRequest.AccessGrant, "ada", "ada", new Dictionary<string, string>
        {
            ["entitlements"] = "engineering-wiki",
            ["business_justification"] = "Read the platform team's runbooks for reconciliation jobs",
        }, now.AddMinutes(-10));
        demo.ServiceNowApproval(rejected.SysId, "grace", approve: false, comment: "Not needed for your role; ask the platform team for an export.", at: now.AddMinutes(-5));
        yield return Scenario.ServiceNow("Rejected by the manager", rejected.Number, rejected.SysId, demo, "Rejected",
            () => [sn.BuildWebhook(rejected.SysId)], () => $"ada in engineering-wiki: {demo.Graph.IsMember(DemoOrganisation.Groups["engineering-wiki"], demo["ada"].GraphId)}");

        yield return Scenario.ServiceNow("Duplicate delivery of the first ticket (same delivery id, then a new one)", grant.Number, grant.SysId, demo, "Fulfilled",
            () => [grantWebhook, sn.BuildWebhook(grant.SysId)], () => $"directory changes in total: {demo.Graph.Changes.DirectoryChanges} (one membership added)", duplicate: true);

        var jira = demo.Jira!;
        var mfa = demo.JiraTicket(DemoRequest.MfaReset, "ada", "lynn", new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.VerificationMethod] = "video-call-with-photo-id",
            [DemoOrganisation.JiraFields.VerifiedBy] = demo.JiraUserValue("lynn"),
            [DemoOrganisation.JiraFields.VerifiedAt] = now.AddMinutes(-3).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            [DemoOrganisation.JiraFields.Reason] = "Lost phone; new device",
        });
        yield return Scenario.Jira("MFA reset, identity verified by the service desk", mfa, demo, "Fulfilled",
            () => [jira.BuildWebhook(mfa, "jira:issue_created")], () => $"passes issued to ada: {demo.Graph.TapsIssued(demo["ada"].GraphId).Count}, mails to {string.Join(",", demo.Graph.Outbox.SelectMany(m => m.To).Distinct())}");

        var leaver = demo.JiraTicket(DemoRequest.Leaver, "dennis", "hedy", new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.RequestedFor] = demo.JiraUserValue("dennis"),
            [DemoOrganisation.JiraFields.TerminationDate] = now.AddMinutes(-1).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            [DemoOrganisation.JiraFields.Reason] = "Resignation",
        });
        yield return Scenario.Jira("Leaver filed by HR, effective now", leaver, demo, "Fulfilled",
            () => [jira.BuildWebhook(leaver, "jira:issue_created")],
            () => $"dennis enabled: {demo.Graph.User(demo["dennis"].GraphId)!.AccountEnabled}, groups left: {string.Join(",", DemoOrganisation.Groups.Where(g => demo.Graph.IsMember(g.Value, demo["dennis"].GraphId)).Select(g => g.Key))}");
    }

    private static void Print(ScenarioReport report)
    {
        Console.WriteLine($"[{(report.AsExpected ? "ok" : "UNEXPECTED")}] {report.Scenario.System} {report.Scenario.Number} — {report.Scenario.Title}");
        Console.WriteLine($"  webhook:      {string.Join(", ", report.Answers)}");
        Console.WriteLine($"  decision:     {report.Outcome ?? "(none)"}{(report.Rule is null ? "" : $" by rule {report.Rule}")} in {report.Elapsed.TotalMilliseconds:0} ms (expected {report.Scenario.Expected})");
        Console.WriteLine($"  directory:    {report.Scenario.Directory()}");
        foreach (var line in report.WriteBack)
        {
            Console.WriteLine($"  write-back:   {line}");
        }

        Console.WriteLine();
    }

    private sealed record ScenarioReport(Scenario Scenario, IReadOnlyList<string> Answers, string? Outcome, string? Rule, TimeSpan Elapsed, IReadOnlyList<string> WriteBack)
    {
        public bool AsExpected => Outcome == Scenario.Expected;
    }

    private sealed record Scenario(
        string System, string Title, string Number, TicketRef Ticket, DemoOrganisation Demo, string Expected,
        Func<IReadOnlyList<object>> Deliveries, Func<string> Directory, bool Duplicate)
    {
        public static Scenario ServiceNow(string title, string number, string sysId, DemoOrganisation demo, string expected, Func<IReadOnlyList<object>> deliveries, Func<string> directory, bool duplicate = false) =>
            new("ServiceNow", title, number, new TicketRef(TicketSystemKind.ServiceNow, sysId), demo, expected, deliveries, directory, duplicate);

        public static Scenario Jira(string title, string key, DemoOrganisation demo, string expected, Func<IReadOnlyList<object>> deliveries, Func<string> directory) =>
            new("Jira", title, key, new TicketRef(TicketSystemKind.Jira, key), demo, expected, deliveries, directory, false);

        public async Task<ScenarioReport> RunAsync(HttpClient http, ITicketStore store, CancellationToken cancellationToken)
        {
            var watch = Stopwatch.StartNew();
            var answers = new List<string>();
            foreach (var delivery in Deliveries())
            {
                using var request = delivery switch
                {
                    SandboxWebhook sn => sn.ToRequest(http.BaseAddress!),
                    JiraWebhookDelivery j => JiraRequest(http.BaseAddress!, j),
                    _ => throw new InvalidOperationException(),
                };
                using var response = await http.SendAsync(request, cancellationToken);
                answers.Add($"{(int)response.StatusCode} {response.StatusCode}");
            }

            var state = await WaitForRoundAsync(store, cancellationToken);
            return new ScenarioReport(this, answers, state?.Outcome?.ToString(), state?.Rule, watch.Elapsed, WriteBack());
        }

        private async Task<TicketState?> WaitForRoundAsync(ITicketStore store, CancellationToken cancellationToken)
        {
            var deadline = Stopwatch.StartNew();
            TicketState? state = null;
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                state = await store.GetAsync(Ticket, cancellationToken);
                if (state is { Phase: RoundPhase.Completed, LeaseOwner: null } && (!Duplicate || deadline.Elapsed > TimeSpan.FromSeconds(2)))
                {
                    return state;
                }

                await Task.Delay(50, cancellationToken);
            }

            return state;
        }

        private IReadOnlyList<string> WriteBack()
        {
            if (System == "ServiceNow")
            {
                var record = Demo.ServiceNow.Record("sc_req_item", Ticket.Key);
                var journal = Demo.ServiceNow.JournalOf(Ticket.Key).Where(j => j.CreatedBy == Demo.ServiceNow.Options.IntegrationUserName).ToList();
                var lines = new List<string> { $"state {record?["state"]}, assignment group {Group(record?.GetValueOrDefault("assignment_group"))}, {journal.Count(j => j.Element == "comments")} comment(s), {journal.Count(j => j.Element == "work_notes")} work note(s)" };
                lines.AddRange(journal.Select(j => $"{(j.Element == "comments" ? "comment" : "work note")}: {First(j.Value)}"));
                return lines;
            }

            var jira = Demo.Jira!;
            var comments = jira.Comments(Ticket.Key).Where(c => c.AuthorId == jira.Options.IntegrationAccountId).ToList();
            var result = new List<string> { $"status {jira.StatusOf(Ticket.Key)}, {comments.Count(c => c.Public)} public comment(s), {comments.Count(c => !c.Public)} internal" };
            result.AddRange(comments.Select(c => $"{(c.Public ? "comment" : "internal")}: {First(c.Body.Replace("\\", "", StringComparison.Ordinal))}"));
            return result;
        }

        private static string Group(string? sysId) =>
            string.IsNullOrEmpty(sysId) ? "(none)" : DemoOrganisation.AssignmentGroups.FirstOrDefault(g => g.Value == sysId).Key ?? sysId;

        private static string First(string text)
        {
            var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
            return line.Length <= 150 ? line : line[..150] + "…";
        }

        private static HttpRequestMessage JiraRequest(Uri baseAddress, JiraWebhookDelivery delivery)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "/api/webhooks/jira")) { Content = new ByteArrayContent(delivery.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            foreach (var (name, value) in delivery.Headers.Where(h => !h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return request;
        }
    }
}
