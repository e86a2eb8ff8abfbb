using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IamFulfillment.Core.Policy;

/// <summary>
/// Reads and validates a policy file. Every error is reported with its location; unknown keys, duplicate ids,
/// a group referenced twice with different tiers and SoD sets naming unknown entitlements are errors.
/// </summary>
public static class PolicyLoader
{
    public static PolicyDocument Load(byte[] utf8, string source)
    {
        var (policy, errors) = Validate(utf8);
        if (policy is null || errors.Count > 0)
        {
            throw new PolicyInvalidException(source, errors);
        }

        return policy;
    }

    public static PolicyDocument LoadFile(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>The content hash that versions decisions: first 16 hex digits of SHA-256 over the file bytes.</summary>
    public static string VersionOf(byte[] utf8) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(utf8))[..16];

    public static (PolicyDocument? Policy, IReadOnlyList<PolicyError> Errors) Validate(byte[] utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            // The parser's message ends with its own zero-based position; the error carries the one-based line.
            var line = ex.LineNumber is { } n ? (int)n + 1 : (int?)null;
            var message = ex.Message.IndexOf(" LineNumber:", StringComparison.Ordinal) is var cut and > 0 ? ex.Message[..cut] : ex.Message;
            return (null, [new PolicyError("$", line, $"not valid JSON: {message}")]);
        }

        using (document)
        {
            var walker = new JsonWalker(utf8);
            var root = document.RootElement;
            if (!walker.IsObject(root, "$"))
            {
                return (null, walker.Errors);
            }

            walker.CheckKeys(root, "$", "$schema", "name", "dryRun", "catalog", "roles", "separationOfDuties", "approvals",
                "requests", "protectedAccounts", "mfaRecovery", "leaver", "joiner", "safetyBrake", "queues");

            var catalog = ReadCatalog(walker, root);
            var policy = new PolicyDocument
            {
                Name = walker.String(root, "$", "name"),
                DryRun = walker.Bool(root, "$", "dryRun") ?? false,
                Catalog = catalog,
                Roles = ReadRoles(walker, root),
                SeparationOfDuties = ReadSod(walker, root),
                Approvals = ReadApprovals(walker, root),
                Requests = ReadRequests(walker, root),
                ProtectedAccounts = ReadProtected(walker, root),
                MfaRecovery = ReadMfa(walker, root),
                Leaver = ReadLeaver(walker, root),
                Joiner = ReadJoiner(walker, root),
                SafetyBrake = ReadBrake(walker, root),
                Queues = ReadQueues(walker, root),
                Version = VersionOf(utf8),
            };

            CrossCheck(walker, policy);
            return (policy, walker.Errors);
        }
    }

    private static List<CatalogEntry> ReadCatalog(JsonWalker w, JsonElement root)
    {
        var entries = new List<CatalogEntry>();
        foreach (var (item, path) in w.Array(root, "$", "catalog"))
        {
            if (!w.IsObject(item, path))
            {
                continue;
            }

            w.CheckKeys(item, path, "id", "displayName", "groupId", "tier", "owner", "approvals", "maxDurationDays",
                "requiresEndDate", "autoFulfil", "allowGuests", "dryRun");
            var id = w.String(item, path, "id", required: true);
            var groupId = w.String(item, path, "groupId", required: true);
            var tierText = w.String(item, path, "tier", required: true);
            var tier = ParseTier(w, $"{path}.tier", tierText);
            var stages = new List<ApprovalStage>();
            var stageIndex = 0;
            foreach (var stageText in w.Strings(item, path, "approvals"))
            {
                if (TryParseStage(stageText, out var stage))
                {
                    stages.Add(stage);
                }
                else
                {
                    w.Error($"{path}.approvals[{stageIndex}]", $"unknown approval stage '{stageText}' (allowed: manager, owner, security)");
                }

                stageIndex++;
            }

            if (tier is { } t && stages.Count > 0 && CatalogEntry.DefaultStages(t).Except(stages).ToList() is { Count: > 0 } dropped)
            {
                w.Error($"{path}.approvals", $"a {tierText} entitlement always needs {string.Join(", ", CatalogEntry.DefaultStages(t).Select(StageName))}; " +
                    $"the list leaves out {string.Join(", ", dropped.Select(StageName))} (the list can add stages to the tier's, not remove them)");
            }

            if (id is not null && !Regex.IsMatch(id, "^[a-z0-9][a-z0-9._-]{1,63}$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            {
                w.Error($"{path}.id", $"'{id}' is not a valid entitlement id (lower-case letters, digits, '.', '_' and '-', 2 to 64 characters)");
            }

            if (id is null || groupId is null || tier is null)
            {
                continue;
            }

            entries.Add(new CatalogEntry
            {
                Id = id,
                DisplayName = w.String(item, path, "displayName") ?? id,
                GroupId = groupId,
                Tier = tier.Value,
                Owner = w.String(item, path, "owner"),
                Approvals = stages,
                MaxDurationDays = w.Int(item, path, "maxDurationDays", 1, 3650),
                RequiresEndDate = w.Bool(item, path, "requiresEndDate") ?? false,
                AutoFulfil = w.Bool(item, path, "autoFulfil") ?? true,
                AllowGuests = w.Bool(item, path, "allowGuests") ?? false,
                DryRun = w.Bool(item, path, "dryRun") ?? false,
                SourcePath = path,
            });
        }

        return entries;
    }

    private static List<RoleDefinition> ReadRoles(JsonWalker w, JsonElement root)
    {
        var roles = new List<RoleDefinition>();
        foreach (var (item, path) in w.Array(root, "$", "roles"))
        {
            if (!w.IsObject(item, path))
            {
                continue;
            }

            w.CheckKeys(item, path, "id", "department", "jobTitles", "employeeTypes", "entitlements");
            var id = w.String(item, path, "id", required: true);
            if (id is null)
            {
                continue;
            }

            roles.Add(new RoleDefinition
            {
                Id = id,
                Department = w.String(item, path, "department"),
                JobTitles = w.Strings(item, path, "jobTitles"),
                EmployeeTypes = w.Strings(item, path, "employeeTypes"),
                Entitlements = w.Strings(item, path, "entitlements"),
            });
        }

        return roles;
    }

    private static List<SodRule> ReadSod(JsonWalker w, JsonElement root)
    {
        var rules = new List<SodRule>();
        foreach (var (item, path) in w.Array(root, "$", "separationOfDuties"))
        {
            if (!w.IsObject(item, path))
            {
                continue;
            }

            w.CheckKeys(item, path, "id", "entitlements", "reason");
            var id = w.String(item, path, "id", required: true);
            var entitlements = w.Strings(item, path, "entitlements");
            if (entitlements.Count < 2)
            {
                w.Error($"{path}.entitlements", "a separation-of-duties set needs at least two entitlements");
            }

            if (id is not null)
            {
                rules.Add(new SodRule { Id = id, Entitlements = entitlements, Reason = w.String(item, path, "reason") });
            }
        }

        return rules;
    }

    private static ApprovalPolicy ReadApprovals(JsonWalker w, JsonElement root)
    {
        if (w.Object(root, "$", "approvals") is not { } obj)
        {
            return new ApprovalPolicy();
        }

        const string Path = "$.approvals";
        w.CheckKeys(obj, Path, "allowDelegates", "managerRequestCountsAsManagerApproval", "securityApproverGroupId");
        return new ApprovalPolicy
        {
            AllowDelegates = w.Bool(obj, Path, "allowDelegates") ?? false,
            ManagerRequestCountsAsManagerApproval = w.Bool(obj, Path, "managerRequestCountsAsManagerApproval") ?? false,
            SecurityApproverGroupId = w.String(obj, Path, "securityApproverGroupId"),
        };
    }

    private static RequestRules ReadRequests(JsonWalker w, JsonElement root)
    {
        var defaults = new RequestRules();
        if (w.Object(root, "$", "requests") is not { } obj)
        {
            return defaults;
        }

        const string Path = "$.requests";
        w.CheckKeys(obj, Path, "justificationMinLength", "placeholderJustifications", "endDateRequiredForEmployeeTypes",
            "endDateRequiredForGuests", "endDateRequiredForTiers", "defaultMaxDurationDays");
        var placeholders = w.Strings(obj, Path, "placeholderJustifications");
        var endDateTypes = w.Strings(obj, Path, "endDateRequiredForEmployeeTypes");
        var tiers = new List<RiskTier>();
        var tierTexts = w.Strings(obj, Path, "endDateRequiredForTiers");
        for (var i = 0; i < tierTexts.Count; i++)
        {
            if (ParseTier(w, $"{Path}.endDateRequiredForTiers[{i}]", tierTexts[i]) is { } tier)
            {
                tiers.Add(tier);
            }
        }

        return new RequestRules
        {
            JustificationMinLength = w.Int(obj, Path, "justificationMinLength", 0, 1000) ?? defaults.JustificationMinLength,
            PlaceholderJustifications = obj.TryGetProperty("placeholderJustifications", out _) ? placeholders : defaults.PlaceholderJustifications,
            EndDateRequiredForEmployeeTypes = obj.TryGetProperty("endDateRequiredForEmployeeTypes", out _) ? endDateTypes : defaults.EndDateRequiredForEmployeeTypes,
            EndDateRequiredForGuests = w.Bool(obj, Path, "endDateRequiredForGuests") ?? defaults.EndDateRequiredForGuests,
            EndDateRequiredForTiers = tiers,
            DefaultMaxDurationDays = w.Int(obj, Path, "defaultMaxDurationDays", 1, 3650),
        };
    }

    private static ProtectedAccounts ReadProtected(JsonWalker w, JsonElement root)
    {
        if (w.Object(root, "$", "protectedAccounts") is not { } obj)
        {
            return new ProtectedAccounts();
        }

        const string Path = "$.protectedAccounts";
        w.CheckKeys(obj, Path, "userPrincipalNamePatterns", "employeeTypes", "exclusionGroupId");
        var patterns = w.Strings(obj, Path, "userPrincipalNamePatterns");
        for (var i = 0; i < patterns.Count; i++)
        {
            try
            {
                _ = new Regex(patterns[i], RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException ex)
            {
                w.Error($"{Path}.userPrincipalNamePatterns[{i}]", $"not a valid regular expression: {ex.Message}");
            }
        }

        return new ProtectedAccounts
        {
            UserPrincipalNamePatterns = patterns,
            EmployeeTypes = w.Strings(obj, Path, "employeeTypes"),
            ExclusionGroupId = w.String(obj, Path, "exclusionGroupId"),
        };
    }

    private static MfaRecoveryPolicy ReadMfa(JsonWalker w, JsonElement root)
    {
        var defaults = new MfaRecoveryPolicy();
        if (w.Object(root, "$", "mfaRecovery") is not { } obj)
        {
            return defaults;
        }

        const string Path = "$.mfaRecovery";
        w.CheckKeys(obj, Path, "acceptedVerificationMethods", "serviceDeskGroupId", "protectedGroupIds", "maxResets",
            "windowDays", "temporaryAccessPassLifetimeMinutes", "evidenceMaxAgeHours");
        return new MfaRecoveryPolicy
        {
            AcceptedVerificationMethods = w.Strings(obj, Path, "acceptedVerificationMethods"),
            ServiceDeskGroupId = w.String(obj, Path, "serviceDeskGroupId"),
            ProtectedGroupIds = w.Strings(obj, Path, "protectedGroupIds"),
            MaxResets = w.Int(obj, Path, "maxResets", 0, 100) ?? defaults.MaxResets,
            WindowDays = w.Int(obj, Path, "windowDays", 1, 365) ?? defaults.WindowDays,
            TemporaryAccessPassLifetimeMinutes = w.Int(obj, Path, "temporaryAccessPassLifetimeMinutes", 10, 43200) ?? defaults.TemporaryAccessPassLifetimeMinutes,
            EvidenceMaxAgeHours = w.Int(obj, Path, "evidenceMaxAgeHours", 1, 720) ?? defaults.EvidenceMaxAgeHours,
        };
    }

    private static LeaverPolicy ReadLeaver(JsonWalker w, JsonElement root)
    {
        if (w.Object(root, "$", "leaver") is not { } obj)
        {
            return new LeaverPolicy();
        }

        const string Path = "$.leaver";
        w.CheckKeys(obj, Path, "hrGroupId", "keepGroupIds", "defaultTimeZone");
        var zone = w.String(obj, Path, "defaultTimeZone") ?? "UTC";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
        {
            w.Error($"{Path}.defaultTimeZone", $"unknown time zone '{zone}' (use an IANA id such as Europe/London)");
        }

        return new LeaverPolicy
        {
            HrGroupId = w.String(obj, Path, "hrGroupId"),
            KeepGroupIds = w.Strings(obj, Path, "keepGroupIds"),
            DefaultTimeZone = zone,
        };
    }

    private static JoinerPolicy ReadJoiner(JsonWalker w, JsonElement root)
    {
        if (w.Object(root, "$", "joiner") is not { } obj)
        {
            return new JoinerPolicy();
        }

        w.CheckKeys(obj, "$.joiner", "accountWaitMinutes");
        return new JoinerPolicy { AccountWaitMinutes = w.Int(obj, "$.joiner", "accountWaitMinutes", 0, 10080) ?? new JoinerPolicy().AccountWaitMinutes };
    }

    private static SafetyBrakePolicy ReadBrake(JsonWalker w, JsonElement root)
    {
        var defaults = new SafetyBrakePolicy();
        if (w.Object(root, "$", "safetyBrake") is not { } obj)
        {
            return defaults;
        }

        const string Path = "$.safetyBrake";
        w.CheckKeys(obj, Path, "windowMinutes", "maxDisables", "maxRemovals", "maxMfaResets");
        return new SafetyBrakePolicy
        {
            WindowMinutes = w.Int(obj, Path, "windowMinutes", 1, 10080) ?? defaults.WindowMinutes,
            MaxDisables = w.Int(obj, Path, "maxDisables", 0, 1_000_000) ?? defaults.MaxDisables,
            MaxRemovals = w.Int(obj, Path, "maxRemovals", 0, 1_000_000) ?? defaults.MaxRemovals,
            MaxMfaResets = w.Int(obj, Path, "maxMfaResets", 0, 1_000_000) ?? defaults.MaxMfaResets,
        };
    }

    private static Dictionary<string, EscalationQueue> ReadQueues(JsonWalker w, JsonElement root)
    {
        var queues = new Dictionary<string, EscalationQueue>(StringComparer.Ordinal);
        if (w.Object(root, "$", "queues") is not { } obj)
        {
            w.Error("$.queues", $"required: where escalations go ({string.Join(", ", QueueKinds.All)}; at least '{QueueKinds.Iam}')");
            return queues;
        }

        w.CheckKeys(obj, "$.queues", [.. QueueKinds.All]);
        foreach (var property in obj.EnumerateObject())
        {
            var path = $"$.queues.{property.Name}";
            if (!QueueKinds.All.Contains(property.Name) || !w.IsObject(property.Value, path))
            {
                continue;
            }

            w.CheckKeys(property.Value, path, "serviceNow", "jira");
            string? group = null;
            if (w.Object(property.Value, path, "serviceNow") is { } sn)
            {
                w.CheckKeys(sn, $"{path}.serviceNow", "assignmentGroup");
                group = w.String(sn, $"{path}.serviceNow", "assignmentGroup", required: true);
            }

            string? transition = null;
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            if (w.Object(property.Value, path, "jira") is { } jira)
            {
                w.CheckKeys(jira, $"{path}.jira", "transition", "fields");
                transition = w.String(jira, $"{path}.jira", "transition");
                if (w.Object(jira, $"{path}.jira", "fields") is { } fieldObj)
                {
                    foreach (var field in fieldObj.EnumerateObject())
                    {
                        if (field.Value.ValueKind == JsonValueKind.String)
                        {
                            fields[field.Name] = field.Value.GetString()!;
                        }
                        else
                        {
                            w.Error($"{path}.jira.fields.{field.Name}", "expected a string value");
                        }
                    }
                }

                if (transition is null && fields.Count == 0)
                {
                    w.Error($"{path}.jira", "needs a transition, fields, or both: JSM queues are filters, so the ticket must be moved or marked");
                }
            }

            queues[property.Name] = new EscalationQueue
            {
                Id = property.Name,
                ServiceNowAssignmentGroup = group,
                JiraTransition = transition,
                JiraFields = fields,
            };
        }

        if (!queues.ContainsKey(QueueKinds.Iam))
        {
            w.Error("$.queues", $"'{QueueKinds.Iam}' is required: it is where escalations go when no other queue fits");
        }

        return queues;
    }

    private static void CrossCheck(JsonWalker w, PolicyDocument policy)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in policy.Catalog)
        {
            if (!ids.Add(entry.Id))
            {
                w.Error($"{entry.SourcePath}.id", $"duplicate entitlement id '{entry.Id}'");
            }
        }

        foreach (var group in policy.Catalog.GroupBy(e => e.GroupId, StringComparer.OrdinalIgnoreCase))
        {
            var tiers = group.Select(e => e.Tier).Distinct().ToList();
            if (tiers.Count > 1)
            {
                var names = string.Join(", ", group.Select(e => $"'{e.Id}' ({e.Tier.ToString().ToLowerInvariant()})"));
                w.Error($"{group.Last().SourcePath}.groupId", $"group {group.Key} is referenced with different tiers: {names}");
            }
        }

        for (var i = 0; i < policy.SeparationOfDuties.Count; i++)
        {
            var rule = policy.SeparationOfDuties[i];
            for (var j = 0; j < rule.Entitlements.Count; j++)
            {
                if (policy.FindEntitlement(rule.Entitlements[j]) is null)
                {
                    w.Error($"$.separationOfDuties[{i}].entitlements[{j}]", $"unknown entitlement '{rule.Entitlements[j]}'");
                }
            }
        }

        var sodIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < policy.SeparationOfDuties.Count; i++)
        {
            if (!sodIds.Add(policy.SeparationOfDuties[i].Id))
            {
                w.Error($"$.separationOfDuties[{i}].id", $"duplicate separation-of-duties id '{policy.SeparationOfDuties[i].Id}'");
            }
        }

        var roleIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < policy.Roles.Count; i++)
        {
            var role = policy.Roles[i];
            if (!roleIds.Add(role.Id))
            {
                w.Error($"$.roles[{i}].id", $"duplicate role id '{role.Id}'");
            }

            for (var j = 0; j < role.Entitlements.Count; j++)
            {
                var entry = policy.FindEntitlement(role.Entitlements[j]);
                if (entry is null)
                {
                    w.Error($"$.roles[{i}].entitlements[{j}]", $"unknown entitlement '{role.Entitlements[j]}'");
                }
                else if (entry.Tier == RiskTier.Privileged)
                {
                    w.Error($"$.roles[{i}].entitlements[{j}]", $"'{entry.Id}' is privileged: birthright access is never privileged");
                }
            }
        }

        // Membership of these groups decides what the service itself does (who approves the security stage, who may
        // file leavers, who verifies identities, who is never touched). Handing them out on a manager's approval
        // would let anyone with a willing manager steer the service, so in the catalog they must be privileged.
        foreach (var entry in policy.Catalog.Where(e => e.Tier != RiskTier.Privileged))
        {
            foreach (var (id, what) in policy.ControlGroups())
            {
                if (string.Equals(id, entry.GroupId, StringComparison.OrdinalIgnoreCase))
                {
                    w.Error($"{entry.SourcePath}.tier", $"'{entry.Id}' gives membership of {what}: it must be privileged");
                }
            }
        }

        if (policy.Catalog.Any(e => e.RequiredStages.Contains(ApprovalStage.Security)) && policy.Approvals.SecurityApproverGroupId is null)
        {
            w.Error("$.approvals.securityApproverGroupId", "required: the catalog has entitlements that need the security stage");
        }
    }

    private static RiskTier? ParseTier(JsonWalker w, string path, string? text)
    {
        switch (text)
        {
            case null:
                return null;
            case "standard":
                return RiskTier.Standard;
            case "sensitive":
                return RiskTier.Sensitive;
            case "privileged":
                return RiskTier.Privileged;
            default:
                w.Error(path, $"unknown tier '{text}' (allowed: standard, sensitive, privileged)");
                return null;
        }
    }

    private static string StageName(ApprovalStage stage) => stage.ToString().ToLowerInvariant();

    private static bool TryParseStage(string text, out ApprovalStage stage)
    {
        (var ok, stage) = text switch
        {
            "manager" => (true, ApprovalStage.Manager),
            "owner" => (true, ApprovalStage.Owner),
            "security" => (true, ApprovalStage.Security),
            _ => (false, default),
        };
        return ok;
    }
}
