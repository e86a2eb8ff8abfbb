using System.Collections.Concurrent;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// Directory facts of catalog groups (role-assignable, dynamic, synced, nesting). They change rarely, so they are
/// read once, on start-up validation or first use, and refreshed after <see cref="Lifetime"/>, keeping those
/// reads off the per-ticket critical path.
/// </summary>
public sealed class GroupDirectoryCache(IDirectory directory, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (DirectoryGroup? Group, DateTimeOffset ReadAt)> _groups = new(StringComparer.OrdinalIgnoreCase);

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(15);

    public async Task<IReadOnlyDictionary<string, DirectoryGroup?>> GetAsync(IEnumerable<string> groupIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var ids = groupIds.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var missing = ids.Where(id => !_groups.TryGetValue(id, out var cached) || now - cached.ReadAt > Lifetime).ToList();
        await Task.WhenAll(missing.Select(async id =>
        {
            var group = await directory.GetGroupAsync(id, cancellationToken);
            _groups[id] = (group, time.GetUtcNow());
        }));

        return ids.ToDictionary(id => id, id => _groups[id].Group, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Resolves every catalog group in the directory: missing groups are errors; role-assignable, dynamic and
    /// on-premises-synced groups and groups nested in privileged ones are reported (never changed automatically).
    /// </summary>
    public async Task<IReadOnlyList<PolicyError>> ValidateAsync(PolicyDocument policy, CancellationToken cancellationToken)
    {
        var groups = await GetAsync(policy.Catalog.Select(e => e.GroupId), cancellationToken);
        var findings = new List<PolicyError>();
        foreach (var entry in policy.Catalog)
        {
            var path = $"catalog '{entry.Id}'";
            if (groups.GetValueOrDefault(entry.GroupId) is not { } group)
            {
                findings.Add(new PolicyError(path, null, $"group {entry.GroupId} does not exist in the directory"));
                continue;
            }

            if (group.IsRoleAssignable)
            {
                findings.Add(new PolicyError(path, null, "group is role-assignable: requests for it always go to people"));
            }

            if (group.IsDynamic)
            {
                findings.Add(new PolicyError(path, null, "group has dynamic membership: requests for it always go to people"));
            }

            if (group.OnPremisesSynced)
            {
                findings.Add(new PolicyError(path, null, "group is synchronised from on-premises AD: requests for it always go to people"));
            }

            if (entry.Tier != RiskTier.Privileged
                && group.ParentGroupIds.Select(policy.FindEntitlementByGroup).FirstOrDefault(p => p?.Tier == RiskTier.Privileged) is { } parent)
            {
                findings.Add(new PolicyError(path, null, $"group is nested in the privileged group of '{parent.Id}': it is treated as privileged"));
            }
        }

        return findings;
    }
}
