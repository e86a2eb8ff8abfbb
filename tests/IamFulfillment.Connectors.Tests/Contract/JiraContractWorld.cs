using System.Text;
using System.Text.RegularExpressions;
using IamFulfillment.Sandbox;
using IamFulfillment.Connectors.Jira;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Jira;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// Jira Service Management for the contract: an "Access" service desk whose "Request access" requests carry the
/// fields as custom fields; the reporter is the customer the request is for and the creator who raised it (an agent
/// raising it on the customer's behalf); approvals are JSM approval steps; escalations take the "Escalate" transition
/// and set the escalation-team field the queue's filter selects.
/// </summary>
public sealed partial class JiraContractWorld : ITicketSystemWorld
{
    public const string Entitlements = "customfield_10050";
    public const string Justification = "customfield_10051";
    public const string EndDate = "customfield_10052";
    public const string EscalationTeam = "customfield_10060";

    private readonly List<ServiceProvider> _providers = [];

    public JiraContractWorld()
    {
        Sandbox = new JiraSandbox();
        Desk = Sandbox.AddServiceDesk("ACC", "Access");
        AccessRequest = Sandbox.AddRequestType(Desk.Id, "Request access", "11");
        LaptopRequest = Sandbox.AddRequestType(Desk.Id, "Order a laptop", "12");
        OtherDesk = Sandbox.AddServiceDesk("FAC", "Facilities");
        OtherRequest = Sandbox.AddRequestType(OtherDesk.Id, "Book a desk", "31");
        Sandbox.AddField(Entitlements, "Entitlements", JiraFieldKind.MultiSelect);
        Sandbox.AddField(Justification, "Business justification", JiraFieldKind.Paragraph);
        Sandbox.AddField(EndDate, "Access end date", JiraFieldKind.Date);
        Sandbox.AddField(EscalationTeam, "Escalation team", JiraFieldKind.Select);
        EscalationQueue = new EscalationQueue
        {
            Id = "privileged",
            JiraTransition = "Escalate",
            JiraFields = new Dictionary<string, string> { [EscalationTeam] = """{"value":"IAM privileged access"}""" },
        };
    }

    public JiraSandbox Sandbox { get; }
    public JiraServiceDesk Desk { get; }
    public JiraRequestType AccessRequest { get; }

    /// <summary>A request type of the same desk that the service is not configured for.</summary>
    public JiraRequestType LaptopRequest { get; }
    public JiraServiceDesk OtherDesk { get; }
    public JiraRequestType OtherRequest { get; }

    public TicketSystemKind Kind => TicketSystemKind.Jira;

    public string IntegrationIdentity => Sandbox.Options.IntegrationAccountId;

    public EscalationQueue EscalationQueue { get; }

    public string ExpectedRoute => "IAM privileged access";

    public int WriteBackCalls => 2;

    public string UnknownKey => "ACC-999";

    public IReadOnlyList<string> Secrets =>
    [
        Sandbox.Options.IntegrationApiToken,
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Sandbox.Options.IntegrationEmail}:{Sandbox.Options.IntegrationApiToken}")),
    ];

    public IntakeStatus RetryAnHourLater => IntakeStatus.Duplicate;

    public void Reset(TimeProvider sandboxClock)
    {
        Sandbox.Time = sandboxClock;
        Sandbox.Faults.Clear();
        Sandbox.ResetCalls();
    }

    public Dictionary<string, string?> Settings() => new()
    {
        ["Jira:ReconciliationJql"] = "project = ACC",
        ["Jira:BaseUrl"] = Sandbox.Url,
        ["Jira:Email"] = Sandbox.Options.IntegrationEmail,
        ["Jira:ApiToken"] = Sandbox.Options.IntegrationApiToken,
        ["Jira:IntegrationAccountId"] = Sandbox.Options.IntegrationAccountId,
        ["Jira:FieldMap:Entitlements"] = Entitlements,
        ["Jira:FieldMap:Justification"] = Justification,
        ["Jira:FieldMap:EndDate"] = EndDate,
        [$"Jira:RequestTypes:{AccessRequest.Id}"] = nameof(RequestType.AccessGrant),
        ["Jira:Retry:BaseDelay"] = "00:00:00.001",
        ["Jira:Retry:MaxDelay"] = "00:00:00.005",
    };

    public ITicketSystem Connector(TimeProvider? clock = null, FakeLogCollector? logs = null)
    {
        var services = new ServiceCollection();
        if (logs is not null)
        {
            services.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        }

        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        services.AddJira(new ConfigurationBuilder().AddInMemoryCollection(Settings()).Build());
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<JiraTicketSystem>();
    }

    /// <summary>A person without an address has one on their profile, hidden by their privacy settings (the Atlassian case).</summary>
    public ContractPerson AddPerson(string name, string? email)
    {
        var hiddenAddress = $"{name.Split(' ')[0].ToLowerInvariant()}@hidden.example";
        var user = Sandbox.AddUser(name, email ?? hiddenAddress, emailVisible: email is not null, accountType: "customer");
        return new ContractPerson(user.AccountId, user.AccountId, name, email);
    }

    public string CreateAccessRequest(ContractPerson requestedFor, ContractPerson openedBy, RequestShape shape) =>
        Sandbox.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = Desk.Id,
            RequestTypeId = AccessRequest.Id,
            ReporterId = requestedFor.ItsmId,
            CreatorId = openedBy.ItsmId,
            Summary = $"Access for {requestedFor.DisplayName}",
            Fields = new Dictionary<string, object?>
            {
                [Entitlements] = new[] { shape.Entitlement },
                [Justification] = shape.Justification,
                [EndDate] = shape.EndDate,
            },
        });

    public void AddApproval(string key, ContractPerson approver, bool? decision, DateTimeOffset at)
    {
        var approval = Sandbox.AddApproval(key, $"Approval by {approver.DisplayName}", [approver.ItsmId], createdAt: decision is null ? at : at.AddMinutes(-1));
        if (decision is { } approve)
        {
            Sandbox.Decide(key, approval, approver.ItsmId, approve, at);
        }
    }

    public void ChangeEndDate(string key, ContractPerson person, DateOnly endDate, DateTimeOffset at) =>
        Sandbox.EditFields(key, person.ItsmId, new Dictionary<string, object?> { [EndDate] = endDate }, at);

    public void ChangeSummary(string key, ContractPerson person, string summary, DateTimeOffset at) =>
        Sandbox.EditFields(key, person.ItsmId, new Dictionary<string, object?> { ["summary"] = summary }, at);

    public void CommentAs(string key, ContractPerson person, string text) => Sandbox.AddComment(key, person.ItsmId, text);

    public string? ExpectedState(Outcome outcome) => outcome switch
    {
        Outcome.Fulfilled => "Resolved",
        Outcome.NeedsInfo => "Waiting for customer",
        Outcome.Rejected => "Declined",
        _ => "Escalated", // the queue's transition
    };

    public string? RoutedTo(string key) => Sandbox.FieldValue(key, EscalationTeam)?.GetValue<string>();

    public string RawState(string key) => Sandbox.StatusOf(key);

    public IReadOnlyList<WrittenEntry> Entries(string key) =>
        Sandbox.Comments(key).Select(c => new WrittenEntry(c.Public, c.AuthorId, c.Body)).ToList();

    /// <summary>Wiki markup shows a backslash-escaped character as itself; the zero-width space that breaks a link is invisible.</summary>
    public string Rendered(string stored) => WikiEscape().Replace(stored, "$1").Replace("\u200B", "", StringComparison.Ordinal);

    /// <summary>Unescaped characters that start wiki markup (links and mentions, macros, tables, images, emphasis) and bare URLs.</summary>
    public IReadOnlyList<string> LiveMarkup(string stored)
    {
        var live = new List<string>();
        for (var i = 0; i < stored.Length; i++)
        {
            if (stored[i] == '\\')
            {
                i++;
                continue;
            }

            if ("[]{}|!*_".Contains(stored[i], StringComparison.Ordinal))
            {
                live.Add(stored.Substring(i, Math.Min(12, stored.Length - i)));
            }
        }

        live.AddRange(Url().Matches(stored).Select(m => m.Value));
        return live;
    }

    public void Fail(ContractCall call, ContractFault fault, int retryAfterSeconds = 0)
    {
        var kind = fault switch
        {
            ContractFault.RateLimited => SandboxFaultKind.RateLimited,
            ContractFault.RateLimitedResetOnly => SandboxFaultKind.RateLimitedResetOnly,
            _ => SandboxFaultKind.LostAnswer,
        };
        var (method, path) = Target(call);
        Sandbox.Faults.Enqueue(kind, method, path, retryAfterSeconds: retryAfterSeconds);
    }

    public IReadOnlyList<DateTimeOffset> CallTimes(ContractCall call)
    {
        var (method, path) = Target(call);
        return Sandbox.Calls.Where(c => c.Method == method && c.Path.Contains(path, StringComparison.Ordinal)).Select(c => c.At).ToList();
    }

    public IntakeOptions IntakeOptions() => new()
    {
        JiraSecrets = [Sandbox.Options.WebhookSecret],
        JiraServiceDeskIds = [Desk.Id],
        JiraRequestTypeIds = [AccessRequest.Id],
        JiraIntegrationAccountId = Sandbox.Options.IntegrationAccountId,
    };

    public ContractDelivery BuildDelivery(string key)
    {
        var delivery = Sandbox.BuildWebhook(key);
        return new ContractDelivery(delivery.Body, delivery.Headers);
    }

    /// <summary>Jira's retry: the same body and X-Atlassian-Webhook-Identifier, with a retry count.</summary>
    public ContractDelivery Redelivery(ContractDelivery first)
    {
        var headers = new Dictionary<string, string>(first.Headers, StringComparer.OrdinalIgnoreCase)
        {
            [JiraSandbox.WebhookRetryHeader] = (int.Parse(first.Header(JiraSandbox.WebhookRetryHeader) ?? "0", System.Globalization.CultureInfo.InvariantCulture) + 1)
                .ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return first with { Headers = headers };
    }

    public ContractDelivery UnhandledDelivery(ContractPerson person)
    {
        var key = Sandbox.CreateRequest(new JiraRequestSeed { ServiceDeskId = OtherDesk.Id, RequestTypeId = OtherRequest.Id, ReporterId = person.ItsmId });
        return BuildDelivery(key);
    }

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Sandbox.Dispose();
    }

    private static (string Method, string Path) Target(ContractCall call) => call switch
    {
        ContractCall.ReadTicket => ("GET", "/rest/api/3/issue/"),
        _ => ("POST", "/comment"),
    };

    [GeneratedRegex(@"\\(.)", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex WikiEscape();

    [GeneratedRegex(@"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,15}://", RegexOptions.CultureInvariant)]
    private static partial Regex Url();
}
