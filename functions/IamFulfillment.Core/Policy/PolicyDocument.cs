using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Policy;

public enum RiskTier
{
    Standard = 0,
    Sensitive = 1,
    Privileged = 2,
}

/// <summary>An approval stage a request may need.</summary>
public enum ApprovalStage
{
    /// <summary>The target's manager per the directory.</summary>
    Manager,

    /// <summary>The entitlement's owner.</summary>
    Owner,

    /// <summary>A member of the security approvers group.</summary>
    Security,
}

/// <summary>The policy file: what the service may decide alone and how. Immutable once loaded.</summary>
public sealed record PolicyDocument
{
    public string? Name { get; init; }
    public IReadOnlyList<CatalogEntry> Catalog { get; init; } = [];
    public IReadOnlyList<RoleDefinition> Roles { get; init; } = [];
    public IReadOnlyList<SodRule> SeparationOfDuties { get; init; } = [];
    public ApprovalPolicy Approvals { get; init; } = new();
    public RequestRules Requests { get; init; } = new();
    public ProtectedAccounts ProtectedAccounts { get; init; } = new();
    public MfaRecoveryPolicy MfaRecovery { get; init; } = new();
    public LeaverPolicy Leaver { get; init; } = new();
    public JoinerPolicy Joiner { get; init; } = new();
    public SafetyBrakePolicy SafetyBrake { get; init; } = new();
    public IReadOnlyDictionary<string, EscalationQueue> Queues { get; init; } = new Dictionary<string, EscalationQueue>();

    /// <summary>Global shadow mode: evaluate everything, change nothing, write the would-be decision as an internal note.</summary>
    public bool DryRun { get; init; }

    /// <summary>Content hash of the file the policy was read from: the version every decision records.</summary>
    public string Version { get; init; } = "unversioned";

    /// <summary>Exact, ordinal lookup: lookalike ids never resolve.</summary>
    public CatalogEntry? FindEntitlement(string id) =>
        Catalog.FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.Ordinal));

    public CatalogEntry? FindEntitlementByGroup(string groupId) =>
        Catalog.FirstOrDefault(e => string.Equals(e.GroupId, groupId, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Groups whose membership decides what the service itself does: who approves the security stage, who files
    /// leavers, who verifies identities, whose accounts are never touched. Membership of them is privileged.
    /// </summary>
    public IReadOnlyList<(string GroupId, string What)> ControlGroups()
    {
        var list = new List<(string, string)>();
        void Add(string? id, string what)
        {
            if (!string.IsNullOrWhiteSpace(id))
            {
                list.Add((id, what));
            }
        }

        Add(Approvals.SecurityApproverGroupId, "the security approvers group");
        Add(Leaver.HrGroupId, "the HR group (its members file leavers)");
        Add(MfaRecovery.ServiceDeskGroupId, "the service desk group (its members verify identities for MFA resets)");
        Add(ProtectedAccounts.ExclusionGroupId, "the exclusion group (its members are never changed by the service)");
        return list;
    }

    public EscalationQueue QueueFor(string kind) =>
        Queues.TryGetValue(kind, out var queue) ? queue
        : Queues.TryGetValue(QueueKinds.Iam, out var fallback) ? fallback
        : new EscalationQueue { Id = kind };
}

public sealed record CatalogEntry
{
    public required string Id { get; init; }
    public required string DisplayName { get; init; }
    public required string GroupId { get; init; }
    public RiskTier Tier { get; init; }

    /// <summary>UPN or mail of the entitlement's owner (approves the owner stage).</summary>
    public string? Owner { get; init; }

    /// <summary>Stages the file lists for this entry; they add to the tier's stages, never replace them.</summary>
    public IReadOnlyList<ApprovalStage> Approvals { get; init; } = [];

    public int? MaxDurationDays { get; init; }
    public bool RequiresEndDate { get; init; }
    public bool AutoFulfil { get; init; } = true;
    public bool AllowGuests { get; init; }
    public bool DryRun { get; init; }

    /// <summary>Where the entry stands in the policy file, for error messages.</summary>
    internal string? SourcePath { get; init; }

    /// <summary>
    /// The tier's stages plus any the file adds: a policy may ask for more (an owner for a standard entry), but
    /// cannot make a sensitive entry manager-only or take the security stage off a privileged one.
    /// </summary>
    public IReadOnlyList<ApprovalStage> RequiredStages => [.. DefaultStages(Tier).Union(Approvals).Order()];

    public static IReadOnlyList<ApprovalStage> DefaultStages(RiskTier tier) => tier switch
    {
        RiskTier.Standard => [ApprovalStage.Manager],
        RiskTier.Sensitive => [ApprovalStage.Manager, ApprovalStage.Owner],
        _ => [ApprovalStage.Manager, ApprovalStage.Owner, ApprovalStage.Security],
    };
}

/// <summary>Birthright entitlements for people whose directory attributes match.</summary>
public sealed record RoleDefinition
{
    public required string Id { get; init; }
    public string? Department { get; init; }
    public IReadOnlyList<string> JobTitles { get; init; } = [];
    public IReadOnlyList<string> EmployeeTypes { get; init; } = [];
    public IReadOnlyList<string> Entitlements { get; init; } = [];

    public bool Matches(DirectoryUser user) =>
        (Department is null || string.Equals(Department, user.Department, StringComparison.OrdinalIgnoreCase))
        && (JobTitles.Count == 0 || JobTitles.Any(t => string.Equals(t, user.JobTitle, StringComparison.OrdinalIgnoreCase)))
        && (EmployeeTypes.Count == 0 || EmployeeTypes.Any(t => string.Equals(t, user.EmployeeType, StringComparison.OrdinalIgnoreCase)));
}

/// <summary>Entitlements that must not be held together.</summary>
public sealed record SodRule
{
    public required string Id { get; init; }
    public IReadOnlyList<string> Entitlements { get; init; } = [];
    public string? Reason { get; init; }
}

public sealed record ApprovalPolicy
{
    /// <summary>Whether an approval given by a delegate on the manager's behalf counts.</summary>
    public bool AllowDelegates { get; init; }

    /// <summary>Whether a manager's own request for a direct report counts as the manager stage (standard tier only).</summary>
    public bool ManagerRequestCountsAsManagerApproval { get; init; }

    /// <summary>Members of this group approve the security stage and escalations.</summary>
    public string? SecurityApproverGroupId { get; init; }
}

public sealed record RequestRules
{
    public int JustificationMinLength { get; init; } = 15;

    public IReadOnlyList<string> PlaceholderJustifications { get; init; } =
        ["n/a", "na", "none", "access", "asdf", "test", "need access", "needed", "please", "tbd", "xxx", "required", "work", "for work", "same as colleague"];

    public IReadOnlyList<string> EndDateRequiredForEmployeeTypes { get; init; } = ["Contractor", "Vendor"];

    /// <summary>Tiers whose grants are always time-bound (e.g. privileged): the request must give an end date.</summary>
    public IReadOnlyList<RiskTier> EndDateRequiredForTiers { get; init; } = [];
    public bool EndDateRequiredForGuests { get; init; } = true;
    public int? DefaultMaxDurationDays { get; init; }
}

/// <summary>Accounts that are never changed automatically: shared, service, break-glass.</summary>
public sealed record ProtectedAccounts
{
    public IReadOnlyList<string> UserPrincipalNamePatterns { get; init; } = [];
    public IReadOnlyList<string> EmployeeTypes { get; init; } = [];
    public string? ExclusionGroupId { get; init; }
}

public sealed record MfaRecoveryPolicy
{
    public IReadOnlyList<string> AcceptedVerificationMethods { get; init; } = [];
    public string? ServiceDeskGroupId { get; init; }
    public IReadOnlyList<string> ProtectedGroupIds { get; init; } = [];
    public int MaxResets { get; init; } = 2;
    public int WindowDays { get; init; } = 30;
    public int TemporaryAccessPassLifetimeMinutes { get; init; } = 60;
    public int EvidenceMaxAgeHours { get; init; } = 24;
}

public sealed record LeaverPolicy
{
    public string? HrGroupId { get; init; }
    public IReadOnlyList<string> KeepGroupIds { get; init; } = [];
    public string DefaultTimeZone { get; init; } = "UTC";
}

public sealed record JoinerPolicy
{
    /// <summary>How long to keep retrying when HR provisioning has not created the account yet.</summary>
    public int AccountWaitMinutes { get; init; } = 60;
}

public sealed record SafetyBrakePolicy
{
    public int WindowMinutes { get; init; } = 60;
    public int MaxDisables { get; init; } = 50;
    public int MaxRemovals { get; init; } = 500;
    public int MaxMfaResets { get; init; } = 20;
}

public static class QueueKinds
{
    public const string Iam = "iam";
    public const string Privileged = "privileged";
    public const string Soc = "soc";
    public const string OnCall = "onCall";

    public static readonly IReadOnlyList<string> All = [Iam, Privileged, Soc, OnCall];
}

/// <summary>Where people pick an escalation up, per ticket system.</summary>
public sealed record EscalationQueue
{
    public required string Id { get; init; }

    /// <summary>ServiceNow assignment group (sys_id).</summary>
    public string? ServiceNowAssignmentGroup { get; init; }

    /// <summary>Jira transition name that moves the request to the escalation queue's filter.</summary>
    public string? JiraTransition { get; init; }

    /// <summary>Jira fields (id → value) that the escalation queue's filter selects.</summary>
    public IReadOnlyDictionary<string, string> JiraFields { get; init; } = new Dictionary<string, string>();
}
