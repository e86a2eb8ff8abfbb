using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Hosting;
using IamFulfillment.Sandbox.Demo;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;

namespace IamFulfillment.EndToEnd.Tests;

/// <summary>
/// Issue 4: Jira Service Management at parity with ServiceNow, through the standalone host. The same tests run for
/// both systems: each decision path with its write-back (comment, note, state, route), duplicate deliveries through
/// the route, and people the directory cannot match (a ServiceNow user without an e-mail address, a Jira account whose
/// address is hidden) — the decision says so: NeedsInfo for the target or requester, an escalation for an approver.
/// One world and host per system serve the whole class; every test makes its own tickets.
/// </summary>
public abstract class TicketSystemParity<TSystem>(ParityWorld fixture) : IClassFixture<ParityWorld>
    where TSystem : ParitySystem, new()
{
    private static readonly Regex Marker = new(@"\n\[iamf:[0-9a-z]+:[a-z]+\]$", RegexOptions.CultureInvariant);

    protected TSystem System { get; } = new TSystem { World = fixture.World };

    protected ParityWorld Fixture { get; } = fixture;

    protected DemoOrganisation Demo => Fixture.World.Demo;

    [Fact]
    public async Task StandardGrant_ApprovedByTheManager_IsFulfilledAndWrittenBackClosed()
    {
        var ada = Demo["ada"];
        var key = System.Grant(System.Id(ada), System.Id(ada), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));
        System.Approve(key, System.Id(Demo["grace"]), approve: true);

        var answer = await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.True(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], ada.GraphId));
        Assert.Equal(System.ExpectedState(Outcome.Fulfilled), System.State(key));
        var (comment, note) = WrittenBack(key);
        Assert.Contains("Ada Lovelace now has access to Finance reports (read)", comment, StringComparison.Ordinal);
        Assert.Contains("FULFILLED automatically", note, StringComparison.Ordinal);
        Assert.Contains("The target's manager: approved by Grace Hopper", note, StringComparison.Ordinal);
        Assert.Contains("Graph request-id", note, StringComparison.Ordinal);
        var trail = await Fixture.Host.TrailAsync(System.Ref(key));
        Assert.Empty(AuditChain.Verify(trail));
        Assert.Contains(trail, e => e.Kind == AuditKinds.ChangeApplied && e.Data["status"] == "Applied");
    }

    [Fact]
    public async Task PrivilegedRequest_IsEscalatedToThePrivilegedQueueWithANoteSayingWhy()
    {
        var ada = Demo["ada"];
        var key = System.Grant(System.Id(ada), System.Id(ada), "prod-admins", "Restart the payments service during on-call", Today().AddDays(7));
        System.Approve(key, System.Id(Demo["grace"]), approve: true);
        var before = System.State(key);

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.TierPrivileged, state.Rule);
        Assert.False(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["prod-admins"], ada.GraphId));
        Assert.Equal(System.ExpectedRoute(QueueKinds.Privileged), System.Route(key));
        Assert.Equal(System.ExpectedState(Outcome.Escalated) ?? before, System.State(key));
        var (comment, note) = WrittenBack(key);
        Assert.Contains("needs a decision by a person in the IAM team", comment, StringComparison.Ordinal);
        Assert.StartsWith("ESCALATION — needs a person (queue: privileged)", note, StringComparison.Ordinal);
        Assert.Contains("Production administrators is privileged access", note, StringComparison.Ordinal);
        Assert.Contains("Target's current privileged/sensitive access", note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IncompleteRequest_OneCommentListsEveryProblem_AndTheTicketAwaitsTheCustomer()
    {
        // Alan is a contractor; his Jira address is hidden, so Jira matches him by Atlassian account id.
        var alan = Demo["alan"];
        var key = System.Grant(System.Id(alan), System.Id(alan), "finance-reports-read", "n/a", endDate: null);
        System.Approve(key, System.Id(Demo["grace"]), approve: true);

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal(System.ExpectedState(Outcome.NeedsInfo), System.State(key));
        var (comment, _) = WrittenBack(key);
        Assert.Contains("\n1. ", comment, StringComparison.Ordinal);
        Assert.Contains("\n2. ", comment, StringComparison.Ordinal);
        Assert.Contains("placeholder", comment, StringComparison.Ordinal);
        Assert.Contains("end date", comment, StringComparison.Ordinal);
        Assert.DoesNotContain("matched", comment, StringComparison.Ordinal);
        Assert.False(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], alan.GraphId));
    }

    [Fact]
    public async Task RejectedApproval_ClosesTheTicketAsDeclined_WithoutChangingTheDirectory()
    {
        var ken = Demo["ken"];
        var key = System.Grant(System.Id(ken), System.Id(ken), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));
        System.Approve(key, System.Id(Demo["grace"]), approve: false, comment: "Not needed for your role");

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.Rejected, state.Outcome);
        Assert.Equal(Rules.ApprovalRejected, state.Rule);
        Assert.Equal(System.ExpectedState(Outcome.Rejected), System.State(key));
        var (comment, note) = WrittenBack(key);
        Assert.Contains("was not fulfilled", comment, StringComparison.Ordinal);
        Assert.Contains("Grace Hopper", comment, StringComparison.Ordinal);
        Assert.StartsWith("REJECTED (rule approval.rejected)", note, StringComparison.Ordinal);
        Assert.False(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], ken.GraphId));
    }

    [Fact]
    public async Task SameDeliveryAgain_IsAnswered200_AndWrittenBackOnce()
    {
        var frances = Demo["frances"];
        var key = System.Grant(System.Id(frances), System.Id(frances), "engineering-wiki", "Read the platform runbooks for on-call", Today().AddDays(30));
        System.Approve(key, System.Id(Demo["barbara"]), approve: true);
        var delivery = System.BuildDelivery(key);

        var first = await System.SendAsync(Fixture.Host, delivery);
        var again = await System.SendAsync(Fixture.Host, delivery);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("duplicate", (await JsonDocument.ParseAsync(await again.Content.ReadAsStreamAsync())).RootElement.GetProperty("status").GetString());
        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Single(System.Entries(key), e => e.Customer);
        Assert.Single(System.Entries(key), e => !e.Customer);
    }

    // ---- People the directory cannot match: said plainly, never guessed.

    [Fact]
    public async Task TargetWithoutAUsableAddress_NeedsInfo_NamingThePerson()
    {
        var nobody = System.AddUnmatchablePerson("Pat Nobody");
        var key = System.Grant(nobody, System.Id(Demo["grace"]), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal(System.ExpectedState(Outcome.NeedsInfo), System.State(key));
        var (comment, _) = WrittenBack(key);
        Assert.Contains("Pat Nobody", comment, StringComparison.Ordinal);
        Assert.Contains(System.UnmatchedBecause, comment, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequesterWithoutAUsableAddress_NeedsInfo_NamingThePerson()
    {
        var nobody = System.AddUnmatchablePerson("Sam Nobody");
        var key = System.Grant(System.Id(Demo["ada"]), nobody, "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));
        System.Approve(key, System.Id(Demo["grace"]), approve: true);

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        var (comment, _) = WrittenBack(key);
        Assert.Contains("Sam Nobody", comment, StringComparison.Ordinal);
        Assert.Contains(System.UnmatchedBecause, comment, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApproverWithoutAUsableAddress_IsEscalated_BecauseTheApprovalCannotBeVerified()
    {
        var nobody = System.AddUnmatchablePerson("Kim Nobody");
        var ken = Demo["ken"];
        var key = System.Grant(System.Id(ken), System.Id(ken), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));
        System.Approve(key, nobody, approve: true);

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.Escalated, state.Outcome);
        Assert.Equal(Rules.ApprovalUnverifiedApprover, state.Rule);
        Assert.Equal(System.ExpectedRoute(QueueKinds.Iam), System.Route(key));
        var (_, note) = WrittenBack(key);
        Assert.Contains("The approver Kim Nobody", note, StringComparison.Ordinal);
        Assert.Contains("could not be matched to exactly one directory user", note, StringComparison.Ordinal);
    }

    protected static DateOnly Today() => DateOnly.FromDateTime(DateTime.UtcNow);

    /// <summary>The one customer comment and one internal note of the round, as readers see them, each ending with its marker.</summary>
    protected (string Comment, string Note) WrittenBack(string key)
    {
        var entries = System.Entries(key);
        var comment = Assert.Single(entries, e => e.Customer).Text;
        var note = Assert.Single(entries, e => !e.Customer).Text;
        Assert.Matches(Marker, comment);
        Assert.Matches(Marker, note);
        return (comment, note);
    }
}

/// <summary>The ServiceNow half of the parity suite (ServiceNowEndToEndTests holds ServiceNow's own extra cases).</summary>
public sealed class ServiceNowParityEndToEndTests(ParityWorld fixture) : TicketSystemParity<ServiceNowParity>(fixture);

public sealed class JiraParityEndToEndTests(ParityWorld fixture) : TicketSystemParity<JiraParity>(fixture)
{
    [Fact]
    public async Task TheServicesOwnWriteBack_DeliveredByJira_IsAnswered200AndIgnored()
    {
        var hedy = Demo["hedy"];
        var key = System.Grant(System.Id(hedy), System.Id(hedy), "engineering-wiki", "Read the platform runbooks for the audit", Today().AddDays(30));
        System.Approve(key, System.Id(Demo["margaret"]), approve: true);
        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        // Jira now sends a delivery for the service's own comment and transition: its user is the integration account.
        var own = await System.SendAsync(Fixture.Host, key);

        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("ignored", (await JsonDocument.ParseAsync(await own.Content.ReadAsStreamAsync())).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task HiddenAddress_WithTheAtlassianAccountIdAttribute_IsMatchedByAccountIdAndFulfilled()
    {
        var alan = Demo["alan"];
        Assert.False(Fixture.World.Jira!.User(alan.JiraAccountId).EmailVisible);
        var key = System.Grant(System.Id(alan), System.Id(alan), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(60));
        System.Approve(key, System.Id(Demo["grace"]), approve: true);

        await System.SendAsync(Fixture.Host, key);
        var state = await Fixture.Host.WaitForRoundAsync(System.Ref(key));

        // Jira gives no address for Alan: only the account id held in the directory attribute can have matched him.
        Assert.Equal(Outcome.Fulfilled, state.Outcome);
        Assert.True(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], alan.GraphId));
        var (comment, _) = WrittenBack(key);
        Assert.Contains("Alan Turing now has access to Finance reports (read)", comment, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HiddenAddress_WithoutTheAtlassianAccountIdAttribute_NeedsInfoSayingSo()
    {
        // The same site and directory, but a deployment that never set up matching by account id: Alan's hidden
        // address leaves nothing to match him on.
        var host = await Fixture.HostAsync("no-atlassian-attribute", s =>
        {
            s.Remove("Graph:AtlassianAccountIdAttribute");
            s.Remove("Jira:PersonKey");
        });
        var alan = Demo["alan"];
        var key = System.Grant(System.Id(alan), System.Id(Demo["grace"]), "finance-reports-read", "Monthly close reporting for the EMEA ledger", Today().AddDays(90));
        System.Approve(key, System.Id(Demo["grace"]), approve: true);

        await System.SendAsync(host, key);
        var state = await host.WaitForRoundAsync(System.Ref(key));

        Assert.Equal(Outcome.NeedsInfo, state.Outcome);
        Assert.Equal(System.ExpectedState(Outcome.NeedsInfo), System.State(key));
        var (comment, _) = WrittenBack(key);
        Assert.Contains("Alan Turing has no email address in Jira", comment, StringComparison.Ordinal);
        Assert.False(Fixture.World.Graph.IsMember(DemoOrganisation.Groups["finance-reports-read"], alan.GraphId));
    }

    [Fact]
    public async Task PersonKeyNamingTheAccountId_WithoutTheAttribute_StopsTheHostNamingBothKeys()
    {
        var error = await Assert.ThrowsAsync<ConfigurationInvalidException>(() => HostUnderTest.StartAsync(Fixture.World, s =>
        {
            s.Remove("Graph:AtlassianAccountIdAttribute");
            s["Jira:PersonKey"] = "Email,AtlassianAccountId";
        }));

        var message = Assert.Single(error.Errors);
        Assert.Contains("Jira:PersonKey", message, StringComparison.Ordinal);
        Assert.Contains("Graph:AtlassianAccountIdAttribute", message, StringComparison.Ordinal);
    }
}

/// <summary>One sandbox world (Azurite, ServiceNow, Jira, Graph, the demo organisation) and host for a test class.</summary>
public sealed class ParityWorld : IAsyncLifetime
{
    private readonly Dictionary<string, Task<HostUnderTest>> _variants = new(StringComparer.Ordinal);
    private SandboxWorld? _world;
    private HostUnderTest? _host;

    public SandboxWorld World => _world ?? throw new InvalidOperationException("The world is not started.");

    public HostUnderTest Host => _host ?? throw new InvalidOperationException("The host is not started.");

    public async Task InitializeAsync()
    {
        _world = await SandboxWorld.StartAsync();
        _host = await HostUnderTest.StartAsync(_world);
    }

    /// <summary>Another host against the same world, with its own tables and queue and changed settings.</summary>
    public Task<HostUnderTest> HostAsync(string name, Action<Dictionary<string, string?>> configure)
    {
        lock (_variants)
        {
            if (!_variants.TryGetValue(name, out var host))
            {
                _variants[name] = host = HostUnderTest.StartAsync(World, configure);
            }

            return host;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var variant in _variants.Values)
        {
            await (await variant).DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_world is not null)
        {
            await _world.DisposeAsync();
        }
    }
}

/// <summary>How the parity suite makes and reads tickets in one system of the demo organisation.</summary>
public abstract class ParitySystem
{
    public SandboxWorld World { get; init; } = null!;

    public abstract TicketSystemKind Kind { get; }

    /// <summary>What the NeedsInfo comment says about a person this system gives nothing to match on.</summary>
    public abstract string UnmatchedBecause { get; }

    public abstract string Id(DemoPerson person);

    /// <summary>A person known to the ticket system whom the directory cannot match (no address, or a hidden one and no directory record).</summary>
    public abstract string AddUnmatchablePerson(string name);

    /// <summary>An access request for <paramref name="requestedFor"/> raised by <paramref name="openedBy"/>.</summary>
    public abstract string Grant(string requestedFor, string openedBy, string entitlement, string justification, DateOnly? endDate);

    public abstract void Approve(string key, string approver, bool approve, string? comment = null);

    /// <summary>The signed delivery the system would send about the ticket now.</summary>
    public abstract object BuildDelivery(string key);

    public abstract Task<HttpResponseMessage> SendAsync(HostUnderTest host, object delivery);

    public Task<HttpResponseMessage> SendAsync(HostUnderTest host, string key) => SendAsync(host, BuildDelivery(key));

    public TicketRef Ref(string key) => new(Kind, key);

    /// <summary>Comments and notes as a reader sees them (escapes undone), oldest first.</summary>
    public abstract IReadOnlyList<(bool Customer, string Text)> Entries(string key);

    public abstract string State(string key);

    public abstract string? Route(string key);

    /// <summary>The raw state the outcome's write-back leaves; null when it leaves the state alone.</summary>
    public abstract string? ExpectedState(Outcome outcome);

    public abstract string ExpectedRoute(string queue);
}

public sealed class ServiceNowParity : ParitySystem
{
    private static readonly Dictionary<string, string> QueueGroups = new(StringComparer.Ordinal)
    {
        [QueueKinds.Iam] = "IAM Operations",
        [QueueKinds.Privileged] = "IAM Privileged Access",
    };

    private int _people;

    public override TicketSystemKind Kind => TicketSystemKind.ServiceNow;

    public override string UnmatchedBecause => "has no email address in ServiceNow";

    private ServiceNowSandbox Sandbox => World.ServiceNow;

    public override string Id(DemoPerson person) => person.ServiceNowSysId;

    /// <summary>A sys_user without an e-mail address (service desks create such records for people outside the directory).</summary>
    public override string AddUnmatchablePerson(string name) => Sandbox.AddUser($"{name.Split(' ')[0].ToLowerInvariant()}.{++_people}", name);

    public override string Grant(string requestedFor, string openedBy, string entitlement, string justification, DateOnly? endDate)
    {
        var variables = new Dictionary<string, string> { ["entitlements"] = entitlement, ["business_justification"] = justification };
        if (endDate is { } end)
        {
            variables["end_date"] = end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        return Sandbox.AddRitm(new RitmSeed
        {
            CatalogItem = World.Demo.CatalogItem(DemoRequest.AccessGrant),
            RequestedFor = requestedFor,
            OpenedBy = openedBy,
            ShortDescription = "Access request",
            Variables = variables,
            VariableTypes = new Dictionary<string, int> { ["end_date"] = 9 },
            OpenedAt = Sandbox.Time.GetUtcNow().AddMinutes(-5),
        }).SysId;
    }

    public override void Approve(string key, string approver, bool approve, string? comment = null) =>
        Sandbox.AddApproval(key, approver, approve ? "approved" : "rejected", Sandbox.Time.GetUtcNow(), comment: comment, createdAt: Sandbox.Time.GetUtcNow().AddMinutes(-1));

    public override object BuildDelivery(string key) => Sandbox.BuildWebhook(key);

    public override Task<HttpResponseMessage> SendAsync(HostUnderTest host, object delivery) => host.SendAsync((SandboxWebhook)delivery);

    public override IReadOnlyList<(bool Customer, string Text)> Entries(string key) =>
        Sandbox.JournalOf(key).Where(j => j.Table == "sc_req_item").Select(j => (j.Element == "comments", j.Value)).ToList();

    public override string State(string key) => Sandbox.Record("sc_req_item", key)!["state"];

    public override string? Route(string key) => Sandbox.Record("sc_req_item", key)!["assignment_group"] is { Length: > 0 } group ? group : null;

    public override string? ExpectedState(Outcome outcome) => outcome switch
    {
        Outcome.Fulfilled => "3",
        Outcome.NeedsInfo => "-5",
        Outcome.Rejected => "4",
        _ => null,
    };

    public override string ExpectedRoute(string queue) => DemoOrganisation.AssignmentGroups[QueueGroups[queue]];
}

public sealed partial class JiraParity : ParitySystem
{
    private static readonly Dictionary<string, string> QueueFields = new(StringComparer.Ordinal)
    {
        [QueueKinds.Iam] = "IAM operations",
        [QueueKinds.Privileged] = "IAM privileged access",
    };

    private int _people;

    public override TicketSystemKind Kind => TicketSystemKind.Jira;

    public override string UnmatchedBecause => "No directory account has the Atlassian account id of";

    private JiraSandbox Sandbox => World.Jira!;

    public override string Id(DemoPerson person) => person.JiraAccountId;

    /// <summary>A customer whose address is hidden by their privacy settings and whose account id no directory user holds.</summary>
    public override string AddUnmatchablePerson(string name) =>
        Sandbox.AddUser(name, $"{name.Split(' ')[0].ToLowerInvariant()}.{++_people}@partner.example", emailVisible: false, accountType: "customer").AccountId;

    public override string Grant(string requestedFor, string openedBy, string entitlement, string justification, DateOnly? endDate)
    {
        var fields = new Dictionary<string, object?>
        {
            [DemoOrganisation.JiraFields.Entitlements] = entitlement,
            [DemoOrganisation.JiraFields.Justification] = justification,
        };
        if (endDate is { } end)
        {
            fields[DemoOrganisation.JiraFields.EndDate] = end;
        }

        return Sandbox.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = World.Demo.JiraServiceDeskId!,
            RequestTypeId = World.Demo.RequestType(DemoRequest.AccessGrant),
            ReporterId = requestedFor,
            CreatorId = openedBy,
            Summary = "Access request",
            Fields = fields,
            CreatedAt = Sandbox.Time.GetUtcNow().AddMinutes(-5),
        });
    }

    /// <summary>JSM approvals carry no comment; the decision itself is what counts.</summary>
    public override void Approve(string key, string approver, bool approve, string? comment = null)
    {
        var approval = Sandbox.AddApproval(key, "Manager approval", [approver], createdAt: Sandbox.Time.GetUtcNow().AddMinutes(-1));
        Sandbox.Decide(key, approval, approver, approve);
    }

    public override object BuildDelivery(string key) => Sandbox.BuildWebhook(key);

    public override Task<HttpResponseMessage> SendAsync(HostUnderTest host, object delivery) => host.SendAsync((JiraWebhookDelivery)delivery);

    public override IReadOnlyList<(bool Customer, string Text)> Entries(string key) =>
        Sandbox.Comments(key).Select(c => (c.Public, Rendered(c.Body))).ToList();

    public override string State(string key) => Sandbox.StatusOf(key);

    public override string? Route(string key) => Sandbox.FieldValue(key, DemoOrganisation.JiraFields.EscalationQueue)?.GetValue<string>();

    public override string? ExpectedState(Outcome outcome) => outcome switch
    {
        Outcome.Fulfilled => "Resolved",
        Outcome.NeedsInfo => "Waiting for customer",
        Outcome.Rejected => "Declined",
        _ => "Escalated",
    };

    public override string ExpectedRoute(string queue) => QueueFields[queue];

    /// <summary>Wiki markup shows a backslash-escaped character as itself; the zero-width space that breaks links is invisible.</summary>
    private static string Rendered(string stored) => WikiEscape().Replace(stored, "$1").Replace("\u200B", "", StringComparison.Ordinal);

    [GeneratedRegex(@"\\(.)", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex WikiEscape();
}
