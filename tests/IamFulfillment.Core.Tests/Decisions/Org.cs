using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Tests.Decisions;

/// <summary>A person on both sides: as the ticket system knows them and as the directory does.</summary>
internal sealed record Person(ItsmPerson Itsm, DirectoryUser User)
{
    public string Id => User.Id;

    public string Name => User.DisplayName!;

    public DirectoryManager AsManager() => new(User.Id, User.DisplayName, User.UserPrincipalName, User.Mail);

    public Person With(Func<DirectoryUser, DirectoryUser> change) => this with { User = change(User) };
}

/// <summary>Catalog ids of the default policy.</summary>
internal static class Ent
{
    public const string Crm = "crm-users";
    public const string SalesReports = "sales-reports";
    public const string VendorPortal = "vendor-portal";
    public const string FinanceAp = "finance-ap";
    public const string FinanceVendors = "finance-vendors";
    public const string ApViewers = "ap-invoice-viewers";
    public const string HrRecords = "hr-records";
    public const string ProdDbAdmin = "prod-db-admin";
    public const string SqlReaders = "sql-readers";
    public const string IntuneAdmins = "intune-admins";
    public const string SalesDynamic = "sales-everyone";
    public const string LegacyShare = "legacy-share";
    public const string PayrollExport = "payroll-export";
    public const string CrmPilot = "crm-pilot";
    public const string MailStandard = "mail-standard";
    public const string SalesBase = "sales-base";
    public const string EngBase = "eng-base";
    public const string GitUsers = "git-users";

    /// <summary>The directory group of a catalog entry (by convention "grp-" + id).</summary>
    public static string Group(string id) => Org.Policy.FindEntitlement(id)!.GroupId;
}

/// <summary>
/// The default organisation every decision case starts from: Alice (Sales) is the usual target, Mark her manager
/// per the directory, Rita the colleague who opens tickets on her behalf, Olga the owner of the entitlements,
/// Sam the security approver, Dina Mark's delegate, Hana in HR, Desmond on the service desk; Carl is a contractor,
/// Gina a guest, and two accounts are protected (a service account and a break-glass account).
/// </summary>
internal static class Org
{
    public static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public const string GoodJustification = "Needs to log customer calls in the CRM for the Q1 renewals project.";

    public const string SecurityApproversGroup = "grp-security-approvers";
    public const string HrGroup = "grp-hr";
    public const string ServiceDeskGroup = "grp-service-desk";
    public const string ExecutivesGroup = "grp-executives";
    public const string ExclusionGroup = "grp-iam-excluded";
    public const string LegalHoldGroup = "grp-legal-hold";

    public static readonly Person Mark = Make("mark", "Mark Miller", department: "Sales", jobTitle: "Sales Manager", employeeId: "E1000");
    public static readonly Person Alice = Make("alice", "Alice Archer", department: "Sales", jobTitle: "Account Executive", employeeId: "E1001", manager: Mark);
    public static readonly Person Rita = Make("rita", "Rita Reyes", department: "Sales", jobTitle: "Team Assistant", employeeId: "E1002", manager: Mark);
    public static readonly Person Olga = Make("olga", "Olga Owen", department: "Finance", jobTitle: "Application Owner", employeeId: "E2000");
    public static readonly Person Sam = Make("sam", "Sam Stone", department: "Security", jobTitle: "Security Engineer", employeeId: "E3000");
    public static readonly Person Dina = Make("dina", "Dina Diaz", department: "Sales", jobTitle: "Deputy Sales Manager", employeeId: "E1003");
    public static readonly Person Hana = Make("hana", "Hana Hart", department: "HR", jobTitle: "HR Partner", employeeId: "E4000");
    public static readonly Person Desmond = Make("desmond", "Desmond Doyle", department: "IT", jobTitle: "Service Desk Agent", employeeId: "E5000");
    public static readonly Person Carl = Make("carl", "Carl Cole", department: "Sales", jobTitle: "Sales Consultant", employeeId: "C7001", manager: Mark, employeeType: "Contractor");

    public static readonly Person Gina = Make("gina", "Gina Gast", department: null, jobTitle: null, employeeId: null, manager: Mark, employeeType: null)
        .With(u => u with { UserType = "Guest", UserPrincipalName = "gina_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail = "gina@fabrikam.com" });

    public static readonly Person ServiceAccount = Make("svc-backup", "Backup service", department: "IT", jobTitle: null, employeeId: null, manager: Mark, employeeType: "Service");
    public static readonly Person BreakGlass = Make("emergency01", "Emergency access 01", department: null, jobTitle: null, employeeId: null, manager: Mark, employeeType: null);

    public static readonly IReadOnlyList<Person> Everyone = [Mark, Alice, Rita, Olga, Sam, Dina, Hana, Desmond, Carl, Gina, ServiceAccount, BreakGlass];

    /// <summary>Memberships people have before a case adds anything: the approver, HR and service desk groups.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<Membership>> BaseMemberships { get; } = new Dictionary<string, IReadOnlyList<Membership>>
    {
        [Sam.Id] = [new Membership(SecurityApproversGroup, "Security approvers")],
        [Hana.Id] = [new Membership(HrGroup, "HR")],
        [Desmond.Id] = [new Membership(ServiceDeskGroup, "Service desk")],
        [BreakGlass.Id] = [new Membership(ExclusionGroup, "IAM automation exclusions")],
    };

    public static readonly PolicyDocument Policy = new()
    {
        Name = "Contoso test policy",
        Version = "sha256:0123456789abcdef",
        Catalog =
        [
            Entry(Ent.Crm, "CRM users", RiskTier.Standard, owner: "olga@contoso.com"),
            Entry(Ent.SalesReports, "Sales reports", RiskTier.Standard, allowGuests: true),
            Entry(Ent.VendorPortal, "Vendor portal", RiskTier.Standard, allowGuests: true) with { RequiresEndDate = true, MaxDurationDays = 90 },
            Entry(Ent.FinanceAp, "Finance: accounts payable", RiskTier.Sensitive, owner: "olga@contoso.com"),
            Entry(Ent.FinanceVendors, "Finance: vendor master data", RiskTier.Sensitive, owner: "olga@contoso.com"),
            Entry(Ent.ApViewers, "AP invoice viewers", RiskTier.Standard),
            Entry(Ent.HrRecords, "HR records", RiskTier.Sensitive),
            Entry(Ent.ProdDbAdmin, "Production database admins", RiskTier.Privileged, owner: "olga@contoso.com") with { MaxDurationDays = 30 },
            Entry(Ent.SqlReaders, "SQL readers", RiskTier.Standard, owner: "olga@contoso.com"),
            Entry(Ent.IntuneAdmins, "Intune administrators", RiskTier.Privileged, owner: "olga@contoso.com"),
            Entry(Ent.SalesDynamic, "Everyone in Sales", RiskTier.Standard),
            Entry(Ent.LegacyShare, "Legacy file share", RiskTier.Standard),
            Entry(Ent.PayrollExport, "Payroll export", RiskTier.Standard) with { AutoFulfil = false },
            Entry(Ent.CrmPilot, "CRM pilot features", RiskTier.Standard) with { DryRun = true },
            Entry(Ent.MailStandard, "Standard mailbox features", RiskTier.Standard),
            Entry(Ent.SalesBase, "Sales team site", RiskTier.Standard),
            Entry(Ent.EngBase, "Engineering team site", RiskTier.Standard),
            Entry(Ent.GitUsers, "Git users", RiskTier.Standard),
        ],
        Roles =
        [
            new RoleDefinition { Id = "everyone", Entitlements = [Ent.MailStandard] },
            new RoleDefinition { Id = "sales", Department = "Sales", Entitlements = [Ent.SalesBase, Ent.Crm] },
            new RoleDefinition { Id = "engineering", Department = "Engineering", Entitlements = [Ent.EngBase, Ent.GitUsers] },
        ],
        SeparationOfDuties =
        [
            new SodRule { Id = "ap-vs-vendor-master", Entitlements = [Ent.FinanceAp, Ent.FinanceVendors], Reason = "whoever creates vendors must not also pay them" },
        ],
        Approvals = new ApprovalPolicy { SecurityApproverGroupId = SecurityApproversGroup },
        Requests = new RequestRules(),
        ProtectedAccounts = new ProtectedAccounts
        {
            UserPrincipalNamePatterns = ["^svc-", "^emergency\\d+@"],
            EmployeeTypes = ["Service", "Shared"],
            ExclusionGroupId = ExclusionGroup,
        },
        MfaRecovery = new MfaRecoveryPolicy
        {
            AcceptedVerificationMethods = ["video-call-with-photo-id", "in-person-id-check"],
            ServiceDeskGroupId = ServiceDeskGroup,
            ProtectedGroupIds = [ExecutivesGroup],
            EvidenceMaxAgeHours = 24,
        },
        Leaver = new LeaverPolicy { HrGroupId = HrGroup, KeepGroupIds = [LegalHoldGroup], DefaultTimeZone = "Europe/Berlin" },
        Queues = new Dictionary<string, EscalationQueue>
        {
            [QueueKinds.Iam] = new() { Id = QueueKinds.Iam, ServiceNowAssignmentGroup = "iam-ops" },
            [QueueKinds.Privileged] = new() { Id = QueueKinds.Privileged, ServiceNowAssignmentGroup = "iam-privileged" },
            [QueueKinds.Soc] = new() { Id = QueueKinds.Soc, ServiceNowAssignmentGroup = "soc" },
            [QueueKinds.OnCall] = new() { Id = QueueKinds.OnCall, ServiceNowAssignmentGroup = "iam-oncall" },
        },
    };

    /// <summary>Directory facts of the catalog groups: most are plain cloud groups; a few are not changeable by the service.</summary>
    public static IReadOnlyDictionary<string, DirectoryGroup?> Groups { get; } = BuildGroups();

    private static Dictionary<string, DirectoryGroup?> BuildGroups()
    {
        var groups = Policy.Catalog.ToDictionary(e => e.GroupId, e => (DirectoryGroup?)new DirectoryGroup { Id = e.GroupId, DisplayName = e.DisplayName }, StringComparer.OrdinalIgnoreCase);
        groups[Ent.Group(Ent.SqlReaders)] = groups[Ent.Group(Ent.SqlReaders)]! with { ParentGroupIds = [Ent.Group(Ent.ProdDbAdmin)] };
        groups[Ent.Group(Ent.ApViewers)] = groups[Ent.Group(Ent.ApViewers)]! with { ParentGroupIds = [Ent.Group(Ent.FinanceAp)] };
        groups[Ent.Group(Ent.IntuneAdmins)] = groups[Ent.Group(Ent.IntuneAdmins)]! with { IsRoleAssignable = true };
        groups[Ent.Group(Ent.SalesDynamic)] = groups[Ent.Group(Ent.SalesDynamic)]! with { IsDynamic = true };
        groups[Ent.Group(Ent.LegacyShare)] = groups[Ent.Group(Ent.LegacyShare)]! with { OnPremisesSynced = true };
        return groups;
    }

    private static CatalogEntry Entry(string id, string name, RiskTier tier, string? owner = null, bool allowGuests = false) => new()
    {
        Id = id,
        DisplayName = name,
        GroupId = "grp-" + id,
        Tier = tier,
        Owner = owner,
        AllowGuests = allowGuests,
    };

    private static Person Make(string handle, string name, string? department, string? jobTitle, string? employeeId, Person? manager = null, string? employeeType = "Employee")
    {
        var mail = $"{handle}@contoso.com";
        return new Person(
            new ItsmPerson("sn-" + handle, name, mail, employeeId, handle),
            new DirectoryUser
            {
                Id = "u-" + handle,
                UserPrincipalName = mail,
                DisplayName = name,
                Mail = mail,
                EmployeeId = employeeId,
                EmployeeType = employeeType,
                UserType = "Member",
                Department = department,
                JobTitle = jobTitle,
                Manager = manager?.AsManager(),
            });
    }
}
