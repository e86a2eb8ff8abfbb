using System.Text;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Tests.Policy;

public sealed class PolicyLoaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "policy", name);

    private static IReadOnlyList<PolicyError> ErrorsOf(string json) => PolicyLoader.Validate(Encoding.UTF8.GetBytes(json)).Errors;

    /// <summary>The smallest valid policy: only the default escalation queue.</summary>
    private const string Minimal = """{ "queues": { "iam": { "serviceNow": { "assignmentGroup": "abc" } } } }""";

    [Fact]
    public void Example_LoadsWithoutErrors()
    {
        var (policy, errors) = PolicyLoader.Validate(File.ReadAllBytes(Fixture("policy.example.json")));
        Assert.Empty(errors);
        Assert.NotNull(policy);
    }

    [Fact]
    public void Example_HasEveryPartOfThePolicy()
    {
        var policy = PolicyLoader.LoadFile(Fixture("policy.example.json"));
        Assert.Equal("Contoso production policy", policy.Name);
        Assert.Equal(12, policy.Catalog.Count);
        Assert.Equal(RiskTier.Privileged, policy.FindEntitlement("prod-db-admin")!.Tier);
        Assert.Equal([ApprovalStage.Manager, ApprovalStage.Owner], policy.FindEntitlement("finance-ap")!.RequiredStages);
        Assert.Equal([ApprovalStage.Manager, ApprovalStage.Owner, ApprovalStage.Security], policy.FindEntitlement("prod-db-admin")!.RequiredStages);
        Assert.False(policy.FindEntitlement("payroll-export")!.AutoFulfil);
        Assert.True(policy.FindEntitlement("crm-pilot")!.DryRun);
        Assert.Equal(90, policy.FindEntitlement("vendor-portal")!.MaxDurationDays);
        Assert.Equal(["everyone", "sales", "engineering"], policy.Roles.Select(r => r.Id));
        Assert.Equal(["finance-ap", "finance-vendors"], Assert.Single(policy.SeparationOfDuties).Entitlements);
        Assert.Equal("c728d53a-f61e-45ca-9dd6-18e4a735693c", policy.Approvals.SecurityApproverGroupId);
        Assert.Equal([RiskTier.Privileged], policy.Requests.EndDateRequiredForTiers);
        Assert.Equal(365, policy.Requests.DefaultMaxDurationDays);
        Assert.Equal(3, policy.ProtectedAccounts.UserPrincipalNamePatterns.Count);
        Assert.Equal("e94af75c-1841-40ec-8ffb-3a06c957815e", policy.MfaRecovery.ServiceDeskGroupId);
        Assert.Equal("Europe/Berlin", policy.Leaver.DefaultTimeZone);
        Assert.Equal(60, policy.Joiner.AccountWaitMinutes);
        Assert.Equal(50, policy.SafetyBrake.MaxDisables);
        Assert.Equal(["iam", "onCall", "privileged", "soc"], policy.Queues.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Escalate to IAM", policy.QueueFor(QueueKinds.Privileged).JiraTransition);
        Assert.Equal("soc", policy.QueueFor(QueueKinds.Soc).JiraFields["customfield_10050"]);
        Assert.False(policy.DryRun);
    }

    [Fact]
    public void InvalidPolicy_ReportsEveryErrorAtOnce_EachWithPathAndLine()
    {
        var (_, errors) = PolicyLoader.Validate(File.ReadAllBytes(Fixture("invalid-many-errors.json")));
        (string Path, int Line, string Says)[] expected =
        [
            ("$.dryrun", 3, "unknown key 'dryrun'"),
            ("$.catalog[1].id", 6, "duplicate entitlement id 'crm-users'"),
            ("$.catalog[2].groupId", 7, "group g-crm is referenced with different tiers: 'crm-users' (standard), 'crm-admins' (privileged)"),
            ("$.catalog[3].id", 8, "'Finance-AP' is not a valid entitlement id"),
            ("$.catalog[4].tier", 9, "unknown tier 'standrd'"),
            ("$.catalog[5].approvals", 10, "a sensitive entitlement always needs manager, owner; the list leaves out owner"),
            ("$.catalog[6].autoFulfill", 11, "unknown key 'autoFulfill'"),
            ("$.catalog[6].maxDurationDays", 11, "must be between 1 and 3650, found 0"),
            ("$.catalog[7].tier", 15, "key 'tier' is given more than once"),
            ("$.roles[0].entitlements[1]", 19, "'crm-admins' is privileged: birthright access is never privileged"),
            ("$.separationOfDuties[0].entitlements[0]", 22, "unknown entitlement 'finance-ap'"),
            ("$.approvals.allowDelegates", 24, "expected true or false, found the string \"yes\""),
            ("$.approvals.securityApproverGroupId", 24, "required: the catalog has entitlements that need the security stage"),
            ("$.protectedAccounts.userPrincipalNamePatterns[0]", 25, "not a valid regular expression"),
            ("$.leaver.defaultTimeZone", 26, "unknown time zone 'Berlin'"),
            ("$.queues", 27, "'iam' is required"),
        ];

        Assert.Equal(expected.Select(e => (e.Path, e.Line)).Order(), errors.Select(e => (e.Path, e.Line ?? -1)).Order());
        foreach (var (path, _, says) in expected)
        {
            Assert.Contains(says, errors.Single(e => e.Path == path && e.Message.Contains(says, StringComparison.Ordinal)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_InvalidPolicy_ThrowsWithEveryErrorAndTheSource()
    {
        var ex = Assert.Throws<PolicyInvalidException>(() => PolicyLoader.LoadFile(Fixture("invalid-many-errors.json")));
        Assert.Equal(16, ex.Errors.Count);
        Assert.Contains("invalid-many-errors.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.dryrun (line 3): unknown key 'dryrun'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotJson_IsOneErrorWithItsLine()
    {
        var (policy, errors) = PolicyLoader.Validate(File.ReadAllBytes(Fixture("invalid-syntax.json")));
        Assert.Null(policy);
        var error = Assert.Single(errors);
        Assert.Equal(("$", 4), (error.Path, error.Line));
        Assert.StartsWith("not valid JSON: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MinimalPolicy_TakesTheDocumentedDefaults()
    {
        var policy = PolicyLoader.Load(Encoding.UTF8.GetBytes(Minimal), "minimal");
        Assert.False(policy.DryRun);
        Assert.Empty(policy.Catalog);
        Assert.False(policy.Approvals.AllowDelegates);
        Assert.False(policy.Approvals.ManagerRequestCountsAsManagerApproval);
        Assert.Equal(15, policy.Requests.JustificationMinLength);
        Assert.Contains("n/a", policy.Requests.PlaceholderJustifications);
        Assert.Equal(["Contractor", "Vendor"], policy.Requests.EndDateRequiredForEmployeeTypes);
        Assert.True(policy.Requests.EndDateRequiredForGuests);
        Assert.Equal("UTC", policy.Leaver.DefaultTimeZone);
        Assert.Equal(2, policy.MfaRecovery.MaxResets);
    }

    [Theory]
    [InlineData("""{ "catalog": {}, "queues": { "iam": {} } }""", "$.catalog", "expected a list, found an object")]
    [InlineData("""{ "mfaRecovery": { "maxReset": 3 }, "queues": { "iam": {} } }""", "$.mfaRecovery.maxReset", "unknown key 'maxReset'")]
    [InlineData("""{ "queues": { "iam": { "jira": {} } } }""", "$.queues.iam.jira", "needs a transition, fields, or both")]
    [InlineData("""{ "queues": { "iam": {}, "helpdesk": {} } }""", "$.queues.helpdesk", "unknown key 'helpdesk'")]
    [InlineData("""{ "queues": { "iam": {} }, "requests": { "endDateRequiredForTiers": ["admin"] } }""", "$.requests.endDateRequiredForTiers[0]", "unknown tier 'admin'")]
    [InlineData("""{ "queues": { "iam": {} }, "catalog": [{ "id": "a1", "groupId": "g", "tier": "standard" }], "separationOfDuties": [{ "id": "s", "entitlements": ["a1"] }] }""", "$.separationOfDuties[0].entitlements", "needs at least two entitlements")]
    [InlineData("""{ "queues": { "iam": {} }, "catalog": [{ "id": "a1", "groupId": "g", "tier": "standard" }, { "id": "a2", "groupId": "h", "tier": "standard" }], "separationOfDuties": [{ "id": "s", "entitlements": ["a1", "a2"] }, { "id": "s", "entitlements": ["a2", "a1"] }] }""", "$.separationOfDuties[1].id", "duplicate separation-of-duties id 's'")]
    [InlineData("""{ "queues": { "iam": {} }, "roles": [{ "id": "r", "entitlements": ["nope"] }] }""", "$.roles[0].entitlements[0]", "unknown entitlement 'nope'")]
    [InlineData("""{ "queues": { "iam": {} }, "catalog": [{ "id": "a1", "tier": "standard" }] }""", "$.catalog[0].groupId", "required")]
    [InlineData("""{ "queues": { "iam": {} }, "catalog": [{ "id": "a1", "groupId": "g", "tier": "privileged", "approvals": ["manager", "owner"] }], "approvals": { "securityApproverGroupId": "s" } }""", "$.catalog[0].approvals", "the list leaves out security")]
    [InlineData("""{ "queues": { "iam": {} }, "catalog": [{ "id": "a1", "groupId": "g", "tier": "standard", "approvals": ["boss"] }] }""", "$.catalog[0].approvals[0]", "unknown approval stage 'boss'")]
    [InlineData("""{ "queues": { "iam": {} }, "name": "a", "name": "b" }""", "$.name", "key 'name' is given more than once")]
    [InlineData("""{ "queues": { "iam": {} }, "approvals": { "securityApproverGroupId": "g-sec" }, "catalog": [{ "id": "sec", "groupId": "G-SEC", "tier": "sensitive" }] }""", "$.catalog[0].tier", "'sec' gives membership of the security approvers group: it must be privileged")]
    [InlineData("""{ "queues": { "iam": {} }, "leaver": { "hrGroupId": "g-hr" }, "catalog": [{ "id": "hr", "groupId": "g-hr", "tier": "standard" }] }""", "$.catalog[0].tier", "the HR group")]
    [InlineData("""{ "queues": { "iam": {} }, "mfaRecovery": { "serviceDeskGroupId": "g-sd" }, "catalog": [{ "id": "sd", "groupId": "g-sd", "tier": "standard" }] }""", "$.catalog[0].tier", "the service desk group")]
    [InlineData("""{ "queues": { "iam": {} }, "protectedAccounts": { "exclusionGroupId": "g-x" }, "catalog": [{ "id": "x", "groupId": "g-x", "tier": "standard" }] }""", "$.catalog[0].tier", "the exclusion group")]
    public void OneMistake_IsReportedAtItsPath(string json, string path, string says)
    {
        var errors = ErrorsOf(json);
        Assert.Contains(errors, e => e.Path == path && e.Message.Contains(says, StringComparison.Ordinal) && e.Line == 1);
    }

    [Fact]
    public void Version_IsTheContentHash_StableForTheSameBytes()
    {
        var bytes = File.ReadAllBytes(Fixture("policy.example.json"));
        var version = PolicyLoader.VersionOf(bytes);
        Assert.Matches(new Regex("^sha256:[0-9a-f]{16}$"), version);
        Assert.Equal(version, PolicyLoader.VersionOf(bytes.ToArray()));
        Assert.Equal(version, PolicyLoader.Load(bytes, "example").Version);
        Assert.Equal(version, PolicyLoader.LoadFile(Fixture("policy.example.json")).Version);
    }

    [Fact]
    public void Version_ChangesWithAnyChangeOfContent()
    {
        var bytes = File.ReadAllBytes(Fixture("policy.example.json"));
        var text = Encoding.UTF8.GetString(bytes);
        var tighter = Encoding.UTF8.GetBytes(text.Replace("\"maxDurationDays\": 90", "\"maxDurationDays\": 60", StringComparison.Ordinal));
        var recommented = Encoding.UTF8.GetBytes(text.Replace("// Shadow mode for everything", "// Shadow mode for all", StringComparison.Ordinal));
        Assert.NotEqual(PolicyLoader.VersionOf(bytes), PolicyLoader.VersionOf(tighter));
        Assert.NotEqual(PolicyLoader.VersionOf(bytes), PolicyLoader.VersionOf(recommented));
        Assert.Equal(60, PolicyLoader.Load(tighter, "tighter").FindEntitlement("vendor-portal")!.MaxDurationDays);
    }
}
