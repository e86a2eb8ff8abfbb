using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using IamFulfillment.Sandbox;
using IamFulfillment.Connectors.ServiceNow;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.ServiceNow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// ServiceNow for the contract: requested items of an "Access Request" catalog item with the default variable
/// names, sysapproval_approver records, sys_audit history and the journal; escalations go to an assignment group.
/// </summary>
public sealed partial class ServiceNowContractWorld : ITicketSystemWorld
{
    private readonly List<ServiceProvider> _providers = [];
    private readonly string _catalogItem;
    private readonly string _queueGroup;
    private int _people;

    public ServiceNowContractWorld()
    {
        Sandbox = new ServiceNowSandbox();
        _catalogItem = Sandbox.AddCatalogItem("Access Request");
        _queueGroup = Sandbox.AddGroup("IAM Privileged Access");
        EscalationQueue = new EscalationQueue { Id = "privileged", ServiceNowAssignmentGroup = _queueGroup };
    }

    public ServiceNowSandbox Sandbox { get; }

    public TicketSystemKind Kind => TicketSystemKind.ServiceNow;

    public string IntegrationIdentity => Sandbox.Options.IntegrationUserName;

    public EscalationQueue EscalationQueue { get; }

    public string ExpectedRoute => _queueGroup;

    public int WriteBackCalls => 1;

    public string UnknownKey => "0123456789abcdef0123456789abcdef";

    public IReadOnlyList<string> Secrets =>
    [
        Sandbox.Options.IntegrationPassword,
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Sandbox.Options.IntegrationUserName}:{Sandbox.Options.IntegrationPassword}")),
    ];

    public IntakeStatus RetryAnHourLater => IntakeStatus.Unauthorized;

    public void Reset(TimeProvider sandboxClock)
    {
        Sandbox.Time = sandboxClock;
        Sandbox.Faults.Clear();
        Sandbox.ResetCalls();
    }

    public ITicketSystem Connector(TimeProvider? clock = null, FakeLogCollector? logs = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ServiceNow:InstanceUrl"] = Sandbox.Url,
            ["ServiceNow:Username"] = Sandbox.Options.IntegrationUserName,
            ["ServiceNow:Password"] = Sandbox.Options.IntegrationPassword,
            [$"ServiceNow:CatalogItems:{_catalogItem}"] = nameof(RequestType.AccessGrant),
            ["ServiceNow:Retry:BaseDelay"] = "00:00:00.001",
            ["ServiceNow:Retry:MaxDelay"] = "00:00:00.005",
        };
        var services = new ServiceCollection();
        if (logs is not null)
        {
            services.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
        }

        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        services.AddServiceNow(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<ServiceNowTicketSystem>();
    }

    public ContractPerson AddPerson(string name, string? email)
    {
        var userName = $"{name.Split(' ')[0].ToLowerInvariant()}.{++_people}";
        var sysId = Sandbox.AddUser(userName, name, email, employeeNumber: (4000 + _people).ToString(CultureInfo.InvariantCulture));
        return new ContractPerson(sysId, userName, name, email);
    }

    public string CreateAccessRequest(ContractPerson requestedFor, ContractPerson openedBy, RequestShape shape) =>
        Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = _catalogItem,
            RequestedFor = requestedFor.ItsmId,
            OpenedBy = openedBy.ItsmId,
            ShortDescription = $"Access for {requestedFor.DisplayName}",
            Variables = new Dictionary<string, string>
            {
                ["requested_for"] = requestedFor.ItsmId,
                ["entitlements"] = shape.Entitlement,
                ["business_justification"] = shape.Justification,
                ["end_date"] = Day(shape.EndDate),
            },
            VariableTypes = new Dictionary<string, int> { ["requested_for"] = 8, ["end_date"] = 9 },
        }).SysId;

    public void AddApproval(string key, ContractPerson approver, bool? decision, DateTimeOffset at) =>
        Sandbox.AddApproval(key, approver.ItsmId, decision switch { true => "approved", false => "rejected", null => "requested" },
            decidedAt: at, createdAt: decision is null ? at : at.AddMinutes(-1));

    public void ChangeEndDate(string key, ContractPerson person, DateOnly endDate, DateTimeOffset at) =>
        Sandbox.UpdateVariable(key, "end_date", Day(endDate), person.ChangedBy, at);

    public void ChangeSummary(string key, ContractPerson person, string summary, DateTimeOffset at) =>
        Sandbox.UpdateRecord("sc_req_item", key, new Dictionary<string, string?> { ["short_description"] = summary }, person.ChangedBy, at);

    public void CommentAs(string key, ContractPerson person, string text) =>
        Sandbox.UpdateRecord("sc_req_item", key, new Dictionary<string, string?> { ["comments"] = text }, person.ChangedBy);

    public string? ExpectedState(Outcome outcome) => outcome switch
    {
        Outcome.Fulfilled => "3", // Closed Complete
        Outcome.NeedsInfo => "-5", // Pending
        Outcome.Rejected => "4", // Closed Incomplete
        _ => null, // an escalation is routed by assignment group; the state stays
    };

    public string? RoutedTo(string key) => NullIfEmpty(Sandbox.Record("sc_req_item", key)!["assignment_group"]);

    public string RawState(string key) => Sandbox.Record("sc_req_item", key)!["state"];

    public IReadOnlyList<WrittenEntry> Entries(string key) =>
        Sandbox.JournalOf(key).Where(j => j.Table == "sc_req_item").Select(j => new WrittenEntry(j.Element == "comments", j.CreatedBy, j.Value)).ToList();

    /// <summary>Journal fields are shown as plain text: what is stored is what is read.</summary>
    public string Rendered(string stored) => stored;

    /// <summary>HTML tags (the journal renders [code] blocks as HTML) and the [code] escape itself.</summary>
    public IReadOnlyList<string> LiveMarkup(string stored) =>
        [.. HtmlTag().Matches(stored).Select(m => m.Value), .. CodeTag().Matches(stored).Select(m => m.Value)];

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
        return Sandbox.Calls.Where(c => c.Method == method && (path is null || c.Path.Contains(path, StringComparison.Ordinal))).Select(c => c.At).ToList();
    }

    public IntakeOptions IntakeOptions() => new() { ServiceNowKeys = [Convert.FromBase64String(Sandbox.Options.WebhookSecret)] };

    public ContractDelivery BuildDelivery(string key)
    {
        var webhook = Sandbox.BuildWebhook(key);
        return new ContractDelivery(webhook.Body, webhook.Headers);
    }

    /// <summary>The business rule's retry sends the same bytes with the same delivery id, timestamp and signature.</summary>
    public ContractDelivery Redelivery(ContractDelivery first) => first with { };

    public ContractDelivery UnhandledDelivery(ContractPerson person)
    {
        var body = ServiceNowWebhookContract.Body(ServiceNowTables.NewSysId(), "0", ServiceNowTables.FormatTime(Sandbox.Time.GetUtcNow()), table: "incident");
        var delivery = Guid.NewGuid().ToString("D");
        var timestamp = Sandbox.Time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return new ContractDelivery(body, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            [ServiceNowWebhookContract.DeliveryHeader] = delivery,
            [ServiceNowWebhookContract.TimestampHeader] = timestamp,
            [ServiceNowWebhookContract.SignatureHeader] = ServiceNowWebhookContract.Sign(Sandbox.Options.WebhookSecret, timestamp, delivery, body),
        });
    }

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Sandbox.Dispose();
    }

    private static (string Method, string? Path) Target(ContractCall call) => call switch
    {
        ContractCall.ReadTicket => ("GET", "/sc_req_item/"),
        _ => ("PATCH", "/sc_req_item/"),
    };

    private static string Day(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    [GeneratedRegex(@"<\s*[/!?a-zA-Z]", RegexOptions.CultureInvariant)]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"\[\s*/?\s*code\s*\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CodeTag();
}
