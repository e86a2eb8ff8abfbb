using IamFulfillment.Connectors.Jira;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Sandbox.Jira;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IamFulfillment.Connectors.Tests.Jira;

/// <summary>
/// A seeded JSM sandbox (an HR service desk with access request types, custom fields and people) and a connector
/// built through <see cref="JiraServiceCollectionExtensions.AddJira"/> against it, as the hosts build it.
/// </summary>
public sealed class JiraWorld : IDisposable
{
    public const string Entitlements = "customfield_10050";
    public const string Justification = "customfield_10051";
    public const string EndDate = "customfield_10052";
    public const string RequestedFor = "customfield_10053";
    public const string TerminationTime = "customfield_10054";
    public const string VerifiedBy = "customfield_10055";
    public const string RiskNote = "customfield_10056";
    public const string EscalationTeam = "customfield_10060";

    private readonly List<ServiceProvider> _providers = [];

    public JiraWorld(JiraSandboxOptions? options = null)
    {
        Sandbox = new JiraSandbox(options);
        Desk = Sandbox.AddServiceDesk("HR", "Human Resources");
        AccessRequest = Sandbox.AddRequestType(Desk.Id, "Request access", "11", RiskNote);
        RemoveAccess = Sandbox.AddRequestType(Desk.Id, "Remove access", "12");
        Sandbox.AddField(Entitlements, "Entitlements", JiraFieldKind.MultiSelect);
        Sandbox.AddField(Justification, "Business justification", JiraFieldKind.Paragraph);
        Sandbox.AddField(EndDate, "Access end date", JiraFieldKind.Date);
        Sandbox.AddField(RequestedFor, "Requested for", JiraFieldKind.MultiUser);
        Sandbox.AddField(TerminationTime, "Termination time", JiraFieldKind.DateTime);
        Sandbox.AddField(VerifiedBy, "Verified by", JiraFieldKind.User);
        Sandbox.AddField(RiskNote, "Risk note", JiraFieldKind.Text);
        Sandbox.AddField(EscalationTeam, "Escalation team", JiraFieldKind.Select);

        Alice = Sandbox.AddUser("Alice Customer", "alice@example.com", accountType: "customer");
        Bob = Sandbox.AddUser("Bob Manager", "bob@example.com", emailVisible: false, apiToken: "bob-token");
        Carol = Sandbox.AddUser("Carol Agent", "carol@example.com", isAgent: true, apiToken: "carol-token");
        Dave = Sandbox.AddUser("Dave Target", "dave@example.com", emailVisible: false, accountType: "customer");
        Erin = Sandbox.AddUser("Erin Owner", "erin@example.com");
    }

    public JiraSandbox Sandbox { get; }
    public JiraServiceDesk Desk { get; }
    public JiraRequestType AccessRequest { get; }
    public JiraRequestType RemoveAccess { get; }
    public JiraUser Alice { get; }
    public JiraUser Bob { get; }
    public JiraUser Carol { get; }
    public JiraUser Dave { get; }
    public JiraUser Erin { get; }

    /// <summary>The configuration a site would have, pointed at the sandbox.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Jira:BaseUrl"] = Sandbox.Url,
        ["Jira:Email"] = Sandbox.Options.IntegrationEmail,
        ["Jira:ApiToken"] = Sandbox.Options.IntegrationApiToken,
        ["Jira:IntegrationAccountId"] = Sandbox.Options.IntegrationAccountId,
        ["Jira:ReconciliationJql"] = "project = HR",
        ["Jira:FieldMap:Entitlements"] = Entitlements,
        ["Jira:FieldMap:Justification"] = Justification,
        ["Jira:FieldMap:EndDate"] = EndDate,
        ["Jira:FieldMap:TerminationDate"] = TerminationTime,
        ["Jira:FieldMap:VerifiedBy"] = VerifiedBy,
        ["Jira:FieldMap:Reason"] = RiskNote,
        ["Jira:RequestTypes:11"] = "AccessGrant",
        ["Jira:RequestTypes:12"] = "AccessRemoval",
        ["Jira:Retry:BaseDelay"] = "00:00:00.005",
        ["Jira:Retry:MaxDelay"] = "00:00:00.020",
    };

    /// <summary>The connector as the hosts register it, with extra or overridden settings.</summary>
    public JiraTicketSystem Connector(Action<Dictionary<string, string?>>? configure = null, TimeProvider? time = null, ILoggerProvider? logs = null)
    {
        var settings = Settings();
        configure?.Invoke(settings);
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddJira(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return (JiraTicketSystem)provider.GetServices<ITicketSystem>().Single(s => s.Kind == TicketSystemKind.Jira);
    }

    /// <summary>An access request for Dave raised by Alice, with entitlements, justification and an end date.</summary>
    public string CreateAccessRequest(string? status = null, string? reporterId = null, string? creatorId = null, IReadOnlyDictionary<string, object?>? fields = null) =>
        Sandbox.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = Desk.Id,
            RequestTypeId = AccessRequest.Id,
            ReporterId = reporterId ?? Dave.AccountId,
            CreatorId = creatorId ?? Alice.AccountId,
            Summary = "Access to the finance reports",
            Status = status,
            Fields = fields ?? new Dictionary<string, object?>
            {
                [Entitlements] = new[] { "grp-finance-read", "grp-finance-reports" },
                [Justification] = "Quarter-end reporting for the finance team",
                [EndDate] = new DateOnly(2026, 12, 31),
                [RiskNote] = "low",
            },
        });

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Sandbox.Dispose();
    }
}

/// <summary>Collects log lines so tests can assert what was (not) logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose()
    {
    }

    private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => NullLogger.Instance.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
    }
}
