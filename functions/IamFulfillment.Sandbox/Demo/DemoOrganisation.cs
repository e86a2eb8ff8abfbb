using System.Globalization;
using IamFulfillment.Sandbox.Graph;
using IamFulfillment.Sandbox.Jira;
using IamFulfillment.Sandbox.ServiceNow;

namespace IamFulfillment.Sandbox.Demo;

/// <summary>A person of the demo organisation, as each system knows them.</summary>
public sealed record DemoPerson(string Key, string DisplayName, string UserPrincipalName, string GraphId, string ServiceNowSysId, string JiraAccountId)
{
    public string UserName => UserPrincipalName.Split('@')[0];
}

/// <summary>The request types as the demo's catalog items and JSM request types name them.</summary>
public enum DemoRequest
{
    AccessGrant,
    AccessRemoval,
    Joiner,
    Mover,
    Leaver,
    MfaReset,
}

/// <summary>
/// A small, realistic organisation seeded into the sandbox directory, ServiceNow and Jira: people with managers,
/// HR, service desk and security approvers, standard/sensitive/privileged groups, a service account, an admin-role
/// holder, catalog items and JSM request types. Its policy is <c>Demo/demo-policy.json</c>; the ids here match it.
/// Used by the demo, the end-to-end tests and the benchmark.
/// </summary>
public sealed class DemoOrganisation
{
    public const string Domain = "contoso.example";
    public const string MailSender = "iam-noreply@contoso.example";
    public const string AtlassianIdAttribute = "onPremisesExtensionAttributes/extensionAttribute5";

    /// <summary>Groups by catalog/policy name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Groups = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["finance-reports-read"] = Guid(1),
        ["finance-payments-approve"] = Guid(2),
        ["vendor-master-edit"] = Guid(3),
        ["prod-admins"] = Guid(4),
        ["engineering-wiki"] = Guid(5),
        ["security-approvers"] = Guid(6),
        ["hr-team"] = Guid(7),
        ["service-desk"] = Guid(8),
        ["all-staff"] = Guid(9),
        ["licence-m365-e5"] = Guid(10),
        ["executives"] = Guid(11),
        ["finance-team"] = Guid(12),
        ["engineering-team"] = Guid(13),
    };

    /// <summary>ServiceNow assignment groups of the policy's escalation queues.</summary>
    public static readonly IReadOnlyDictionary<string, string> AssignmentGroups = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["IAM Operations"] = "a1000000000000000000000000000001",
        ["IAM Privileged Access"] = "a1000000000000000000000000000002",
        ["Security Operations"] = "a1000000000000000000000000000003",
        ["IAM On-call"] = "a1000000000000000000000000000004",
    };

    /// <summary>JSM custom fields of the demo service desk.</summary>
    public static class JiraFields
    {
        public const string Entitlements = "customfield_10050";
        public const string Justification = "customfield_10051";
        public const string EndDate = "customfield_10052";
        public const string StartDate = "customfield_10053";
        public const string RequestedFor = "customfield_10054";
        public const string TerminationDate = "customfield_10055";
        public const string TimeZone = "customfield_10056";
        public const string EmployeeNumber = "customfield_10057";
        public const string VerificationMethod = "customfield_10058";
        public const string VerifiedBy = "customfield_10059";
        public const string EscalationQueue = "customfield_10060";
        public const string VerifiedAt = "customfield_10061";
        public const string Reason = "customfield_10062";
        public const string EffectiveDate = "customfield_10063";
    }

    private static readonly (string Key, string Name, string Department, string Title, string Type, string? Manager, string[] Groups, bool JiraEmailHidden)[] People =
    [
        ("margaret", "Margaret Hamilton", "Security", "Chief Information Security Officer", "Employee", null, ["executives"], false),
        ("grace", "Grace Hopper", "Finance", "Finance Manager", "Employee", "margaret", ["finance-team", "finance-reports-read"], false),
        ("ada", "Ada Lovelace", "Finance", "Financial Analyst", "Employee", "grace", ["finance-team", "all-staff", "licence-m365-e5"], false),
        ("alan", "Alan Turing", "Finance", "Financial Analyst", "Contractor", "grace", ["finance-team"], true),
        ("radia", "Radia Perlman", "Finance", "Head of Payments", "Employee", "margaret", ["finance-team", "vendor-master-edit"], false),
        ("katherine", "Katherine Johnson", "Security", "Security Engineer", "Employee", "margaret", ["security-approvers"], false),
        ("lynn", "Lynn Conway", "IT", "Service Desk Analyst", "Employee", "margaret", ["service-desk"], false),
        ("hedy", "Hedy Lamarr", "HR", "HR Business Partner", "Employee", "margaret", ["hr-team"], false),
        ("barbara", "Barbara Liskov", "Engineering", "Engineering Manager", "Employee", "margaret", ["engineering-team"], false),
        ("edsger", "Edsger Dijkstra", "Engineering", "Platform Engineer", "Employee", "barbara", ["engineering-team", "engineering-wiki", "prod-admins"], false),
        ("dennis", "Dennis Ritchie", "Engineering", "Software Engineer", "Employee", "barbara", ["engineering-team", "engineering-wiki", "licence-m365-e5", "all-staff"], false),
        ("ken", "Ken Thompson", "Finance", "Financial Analyst", "Employee", "grace", ["engineering-team", "engineering-wiki"], false),
        ("frances", "Frances Allen", "Engineering", "Software Engineer", "Employee", "barbara", [], false),
        ("svc-backup", "Backup service", "IT", "Service account", "Service", null, [], false),
    ];

    private readonly Dictionary<string, DemoPerson> _people = new(StringComparer.Ordinal);
    private readonly Dictionary<DemoRequest, string> _catalogItems = [];
    private readonly Dictionary<DemoRequest, string> _requestTypes = [];
    private int _employeeNumbers = 1000;

    private DemoOrganisation(ServiceNowSandbox serviceNow, GraphSandbox graph, JiraSandbox? jira)
    {
        ServiceNow = serviceNow;
        Graph = graph;
        Jira = jira;
    }

    public ServiceNowSandbox ServiceNow { get; }
    public GraphSandbox Graph { get; }
    public JiraSandbox? Jira { get; }
    public string? JiraServiceDeskId { get; private set; }
    public string? AdminRoleId { get; private set; }

    public static string PolicyPath => Path.Combine(AppContext.BaseDirectory, "Demo", "demo-policy.json");

    public DemoPerson this[string key] => _people[key];

    public IReadOnlyCollection<DemoPerson> Everyone => _people.Values;

    public string CatalogItem(DemoRequest request) => _catalogItems[request];

    public string RequestType(DemoRequest request) => _requestTypes[request];

    /// <summary>Seeds the organisation into the sandboxes (Jira optional).</summary>
    public static DemoOrganisation Seed(ServiceNowSandbox serviceNow, GraphSandbox graph, JiraSandbox? jira = null)
    {
        var demo = new DemoOrganisation(serviceNow, graph, jira);
        demo.SeedDirectory();
        demo.SeedServiceNow();
        if (jira is not null)
        {
            demo.SeedJira(jira);
        }

        return demo;
    }

    /// <summary>Adds another employee (bulk scenarios): in the directory, ServiceNow and Jira, member of the given groups.</summary>
    public DemoPerson AddEmployee(string key, string name, string department, string? manager, params string[] groups)
    {
        var index = _people.Count + 1;
        return AddPerson(index, key, name, department, "Employee", "Employee", manager, groups, jiraEmailHidden: false);
    }

    /// <summary>The host's settings against these sandboxes (what a real deployment sets in its app settings).</summary>
    public Dictionary<string, string?> HostSettings(string storageConnectionString, string? policyPath = null)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = storageConnectionString,
            ["Storage:QueueName"] = "iamf-work",
            ["Policy:Path"] = policyPath ?? PolicyPath,
            ["ServiceNow:InstanceUrl"] = ServiceNow.Url,
            ["ServiceNow:Username"] = ServiceNow.Options.IntegrationUserName,
            ["ServiceNow:Password"] = ServiceNow.Options.IntegrationPassword,
            ["ServiceNow:WebhookSecret"] = ServiceNow.Options.WebhookSecret,
            ["ServiceNow:PersonKey"] = "Email",
            ["Graph:BaseUrl"] = Graph.BaseUrl,
            ["Graph:AuthMode"] = "None",
            ["Graph:MailSender"] = MailSender,
            ["Graph:AtlassianAccountIdAttribute"] = AtlassianIdAttribute,
        };
        foreach (var (request, sysId) in _catalogItems)
        {
            settings[$"ServiceNow:CatalogItems:{sysId}"] = request.ToString();
        }

        if (Jira is { } jira)
        {
            settings["Jira:BaseUrl"] = jira.Url;
            settings["Jira:Email"] = jira.Options.IntegrationEmail;
            settings["Jira:ApiToken"] = jira.Options.IntegrationApiToken;
            settings["Jira:IntegrationAccountId"] = jira.Options.IntegrationAccountId;
            settings["Jira:WebhookSecret"] = jira.Options.WebhookSecret;
            settings["Jira:PersonKey"] = "Email,AtlassianAccountId";
            settings["Jira:ServiceDeskIds"] = JiraServiceDeskId;
            settings["Jira:ReconciliationJql"] = "project = IAM";
            foreach (var (request, typeId) in _requestTypes)
            {
                settings[$"Jira:RequestTypes:{typeId}"] = request.ToString();
            }

            settings["Jira:FieldMap:Entitlements"] = JiraFields.Entitlements;
            settings["Jira:FieldMap:Justification"] = JiraFields.Justification;
            settings["Jira:FieldMap:EndDate"] = JiraFields.EndDate;
            settings["Jira:FieldMap:StartDate"] = JiraFields.StartDate;
            settings["Jira:FieldMap:RequestedFor"] = JiraFields.RequestedFor;
            settings["Jira:FieldMap:TerminationDate"] = JiraFields.TerminationDate;
            settings["Jira:FieldMap:TimeZone"] = JiraFields.TimeZone;
            settings["Jira:FieldMap:EmployeeNumber"] = JiraFields.EmployeeNumber;
            settings["Jira:FieldMap:VerificationMethod"] = JiraFields.VerificationMethod;
            settings["Jira:FieldMap:VerifiedBy"] = JiraFields.VerifiedBy;
            settings["Jira:FieldMap:VerifiedAt"] = JiraFields.VerifiedAt;
            settings["Jira:FieldMap:Reason"] = JiraFields.Reason;
            settings["Jira:FieldMap:EffectiveDate"] = JiraFields.EffectiveDate;
        }

        return settings;
    }

    /// <summary>A ServiceNow requested item, as submitted through the catalog; variables by their ServiceNow names.</summary>
    public SeededRitm ServiceNowTicket(DemoRequest request, string requestedFor, string openedBy, IReadOnlyDictionary<string, string>? variables = null, DateTimeOffset? openedAt = null)
    {
        var types = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["start_date"] = 9, ["end_date"] = 9, ["effective_date"] = 9, ["termination_date"] = 10, ["verified_at"] = 10, ["verified_by"] = 8,
        };
        return ServiceNow.AddRitm(new RitmSeed
        {
            CatalogItem = _catalogItems[request],
            RequestedFor = _people[requestedFor].ServiceNowSysId,
            OpenedBy = _people[openedBy].ServiceNowSysId,
            Variables = variables ?? new Dictionary<string, string>(),
            VariableTypes = types,
            OpenedAt = openedAt,
            ShortDescription = $"{request} for {_people[requestedFor].DisplayName}",
        });
    }

    /// <summary>Approves (or rejects) a ServiceNow item as the given person.</summary>
    public string ServiceNowApproval(string ritmSysId, string approver, bool approve = true, string? comment = null, DateTimeOffset? at = null) =>
        ServiceNow.AddApproval(ritmSysId, _people[approver].ServiceNowSysId, approve ? "approved" : "rejected", at ?? ServiceNow.Time.GetUtcNow(), comment: comment);

    /// <summary>A JSM request; fields by the demo's custom field ids.</summary>
    public string JiraTicket(DemoRequest request, string reporter, string? creator = null, IReadOnlyDictionary<string, object?>? fields = null)
    {
        var jira = Jira ?? throw new InvalidOperationException("The demo was seeded without Jira.");
        return jira.CreateRequest(new JiraRequestSeed
        {
            ServiceDeskId = JiraServiceDeskId!,
            RequestTypeId = _requestTypes[request],
            ReporterId = _people[reporter].JiraAccountId,
            CreatorId = creator is null ? null : _people[creator].JiraAccountId,
            Summary = $"{request} for {_people[reporter].DisplayName}",
            Fields = fields ?? new Dictionary<string, object?>(),
        });
    }

    /// <summary>An approval step on a JSM request, decided by the given person.</summary>
    public void JiraApproval(string issueKey, string approver, bool approve = true)
    {
        var jira = Jira ?? throw new InvalidOperationException("The demo was seeded without Jira.");
        var approval = jira.AddApproval(issueKey, "Manager approval", [_people[approver].JiraAccountId]);
        jira.Decide(issueKey, approval, _people[approver].JiraAccountId, approve);
    }

    /// <summary>A value for a JSM user-picker field.</summary>
    public JiraUser JiraUserValue(string key) => (Jira ?? throw new InvalidOperationException("The demo was seeded without Jira.")).User(_people[key].JiraAccountId);

    public static string Guid(int n) => $"d1000000-0000-4000-8000-{n.ToString("D12", CultureInfo.InvariantCulture)}";

    private void SeedDirectory()
    {
        foreach (var (name, id) in Groups)
        {
            Graph.AddGroup(new SandboxGroup
            {
                Id = id,
                DisplayName = name,
                GroupTypes = name == "all-staff" ? ["DynamicMembership"] : [],
            });
        }

        Graph.AddUser(new SandboxUser { UserPrincipalName = MailSender, Mail = MailSender, DisplayName = "IAM notifications", EmployeeType = "Service" });
        var index = 0;
        foreach (var p in People)
        {
            AddPerson(++index, p.Key, p.Name, p.Department, p.Title, p.Type, p.Manager, p.Groups, p.JiraEmailHidden);
        }

        // An admin-role holder (MFA resets and leavers for admins go to people).
        var role = Graph.AddDirectoryRole("User Administrator");
        AdminRoleId = role.Id;
        Graph.AddMember(role.Id, _people["barbara"].GraphId);
        foreach (var key in new[] { "ada", "dennis", "barbara" })
        {
            Graph.AddAuthenticationMethod(_people[key].GraphId, SandboxMethodTypes.MicrosoftAuthenticator, "iPhone");
            Graph.AddAuthenticationMethod(_people[key].GraphId, SandboxMethodTypes.Phone, "+44 20 7946 0000");
        }
    }

    private DemoPerson AddPerson(int index, string key, string name, string department, string title, string type, string? manager, string[] groups, bool jiraEmailHidden)
    {
        var upn = key.StartsWith("svc-", StringComparison.Ordinal) ? $"{key}@{Domain}" : $"{name.ToLowerInvariant().Replace(' ', '.')}@{Domain}";
        var graphId = $"d2000000-0000-4000-8000-{index.ToString("D12", CultureInfo.InvariantCulture)}";
        var sysId = "b2" + index.ToString("D30", CultureInfo.InvariantCulture);
        var jiraId = $"712020:{graphId}";
        var employeeNumber = (++_employeeNumbers).ToString(CultureInfo.InvariantCulture);
        var user = new SandboxUser
        {
            Id = graphId, UserPrincipalName = upn, Mail = upn, DisplayName = name, Department = department, JobTitle = title,
            EmployeeType = type, EmployeeId = employeeNumber,
        };
        user.OnPremisesExtensionAttributes["extensionAttribute5"] = jiraId;
        Graph.AddUser(user);
        if (manager is not null)
        {
            Graph.SetManager(graphId, _people[manager].GraphId);
        }

        foreach (var group in groups)
        {
            Graph.AddMember(Groups[group], graphId);
        }

        ServiceNow.AddUser(upn.Split('@')[0], name, upn, employeeNumber, manager is null ? null : _people[manager].ServiceNowSysId, sysId);
        Jira?.AddUser(name, upn, emailVisible: !jiraEmailHidden, isAgent: key is "lynn" or "hedy", accountId: jiraId);
        var person = new DemoPerson(key, name, upn, graphId, sysId, jiraId);
        _people[key] = person;
        return person;
    }

    private void SeedServiceNow()
    {
        foreach (var (name, sysId) in AssignmentGroups)
        {
            ServiceNow.AddGroup(name, sysId);
        }

        var items = new (DemoRequest Request, string Name)[]
        {
            (DemoRequest.AccessGrant, "Request access to a group"),
            (DemoRequest.AccessRemoval, "Remove access from a group"),
            (DemoRequest.Joiner, "New hire access"),
            (DemoRequest.Mover, "Role change"),
            (DemoRequest.Leaver, "Leaver"),
            (DemoRequest.MfaReset, "MFA reset"),
        };
        var n = 0;
        foreach (var (request, name) in items)
        {
            _catalogItems[request] = ServiceNow.AddCatalogItem(name, "c3" + (++n).ToString("D30", CultureInfo.InvariantCulture));
        }
    }

    private void SeedJira(JiraSandbox jira)
    {
        var desk = jira.AddServiceDesk("IAM", "Identity and access");
        JiraServiceDeskId = desk.Id;
        var names = new (DemoRequest Request, string Name)[]
        {
            (DemoRequest.AccessGrant, "Request access"),
            (DemoRequest.AccessRemoval, "Remove access"),
            (DemoRequest.Joiner, "New hire"),
            (DemoRequest.Mover, "Role change"),
            (DemoRequest.Leaver, "Leaver"),
            (DemoRequest.MfaReset, "MFA reset"),
        };
        var id = 100;
        foreach (var (request, name) in names)
        {
            _requestTypes[request] = jira.AddRequestType(desk.Id, name, (++id).ToString(CultureInfo.InvariantCulture)).Id;
        }

        jira.AddField(JiraFields.Entitlements, "Entitlements", JiraFieldKind.Text);
        jira.AddField(JiraFields.Justification, "Business justification", JiraFieldKind.Paragraph);
        jira.AddField(JiraFields.EndDate, "End date", JiraFieldKind.Date);
        jira.AddField(JiraFields.StartDate, "Start date", JiraFieldKind.Date);
        jira.AddField(JiraFields.RequestedFor, "Requested for", JiraFieldKind.User);
        jira.AddField(JiraFields.TerminationDate, "Termination", JiraFieldKind.DateTime);
        jira.AddField(JiraFields.TimeZone, "Time zone", JiraFieldKind.Text);
        jira.AddField(JiraFields.EmployeeNumber, "Employee number", JiraFieldKind.Text);
        jira.AddField(JiraFields.VerificationMethod, "Identity verification method", JiraFieldKind.Text);
        jira.AddField(JiraFields.VerifiedBy, "Identity verified by", JiraFieldKind.User);
        jira.AddField(JiraFields.VerifiedAt, "Identity verified at", JiraFieldKind.DateTime);
        jira.AddField(JiraFields.Reason, "Reason", JiraFieldKind.Text);
        jira.AddField(JiraFields.EffectiveDate, "Effective date", JiraFieldKind.Date);
        jira.AddField(JiraFields.EscalationQueue, "Escalation queue", JiraFieldKind.Text);
    }
}
