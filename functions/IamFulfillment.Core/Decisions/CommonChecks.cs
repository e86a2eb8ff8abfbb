using System.Globalization;
using System.Text.RegularExpressions;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>Checks shared by request types: who the request is for and from, justification, dates, protected accounts.</summary>
internal static class CommonChecks
{
    public static void People(DecisionContext ctx, Findings findings, bool targetRequired = true)
    {
        var request = ctx.Request;
        if (request.RequestedFor is null)
        {
            if (targetRequired)
            {
                findings.Problem("Say who the request is for (the \"Requested for\" person).");
            }
        }
        else if (ctx.Target is { Resolved: false } target)
        {
            findings.Problem(target.Problem ?? $"{target.Person.Describe()} could not be matched to exactly one directory account.");
        }
        else if (ctx.Target?.User is { } user)
        {
            findings.Verified.Add($"Target {user.Describe()} matched by {Describe(ctx.Target!.MatchedOn ?? ctx.MatchedOn)}.");
        }

        if (request.Requester is null)
        {
            findings.Problem("The ticket does not say who opened it; it must be opened by a named person.");
        }
        else if (ctx.Requester is { Resolved: false } requester)
        {
            findings.Problem(requester.Problem ?? $"The requester {requester.Person.Describe()} could not be matched to exactly one directory account.");
        }
        else if (ctx.Requester?.User is { } requesterUser)
        {
            findings.Verified.Add($"Requester {requesterUser.Describe()} matched by {Describe(ctx.Requester!.MatchedOn ?? ctx.MatchedOn)}.");
        }
    }

    public static void Justification(DecisionContext ctx, Findings findings)
    {
        var rules = ctx.Policy.Requests;
        var text = ctx.Request.Justification;
        if (string.IsNullOrWhiteSpace(text))
        {
            findings.Problem("Add a business justification: why the access is needed.");
            return;
        }

        var normalised = Regex.Replace(text.Trim().ToLowerInvariant(), @"[\s\p{P}]+", " ", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)).Trim();
        if (rules.PlaceholderJustifications.Any(p => string.Equals(Regex.Replace(p.ToLowerInvariant(), @"[\s\p{P}]+", " ", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)).Trim(), normalised, StringComparison.Ordinal))
            || normalised.Length == 0)
        {
            findings.Problem($"The justification \"{Shorten(text)}\" is a placeholder; say what you need the access for.");
        }
        else if (text.Trim().Length < rules.JustificationMinLength)
        {
            findings.Problem($"The justification is too short ({text.Trim().Length} characters); explain in at least {rules.JustificationMinLength} characters what the access is for.");
        }
        else if (!Regex.IsMatch(text, @"\p{L}{2,}.*\s+.*\p{L}{2,}", RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
                 || text.Trim().Distinct().Count() <= 3)
        {
            findings.Problem("The justification does not explain anything; write a sentence about what the access is for.");
        }
    }

    /// <summary>
    /// Start/end dates: parse problems are already listed; end not before start, not in the past, within the
    /// longest allowed duration; required where the entitlement or the target's user type demands one.
    /// </summary>
    public static void Dates(DecisionContext ctx, IReadOnlyList<CatalogEntry> entries, Findings findings)
    {
        var request = ctx.Request;
        var target = ctx.Target?.User;
        var requiredBy = new List<string>();
        foreach (var entry in entries)
        {
            var tier = DecisionEngine.EffectiveTier(ctx, entry).Tier;
            if (entry.RequiresEndDate)
            {
                requiredBy.Add($"{entry.DisplayName} is time-bound");
            }
            else if (ctx.Policy.Requests.EndDateRequiredForTiers.Contains(tier))
            {
                requiredBy.Add($"{entry.DisplayName} is {tier.ToString().ToLowerInvariant()} access");
            }
        }

        if (target is not null)
        {
            if (target.IsGuest && ctx.Policy.Requests.EndDateRequiredForGuests)
            {
                requiredBy.Add("the person is a guest");
            }

            if (target.EmployeeType is { } type && ctx.Policy.Requests.EndDateRequiredForEmployeeTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
            {
                requiredBy.Add($"the person is a {type.ToLowerInvariant()}");
            }
        }

        // A start date is in the past when it lies before the day the ticket was opened; measured from now, a
        // request approved a few days later would wrongly be sent back for a date that was fine when filed.
        var opened = ctx.Ticket.CreatedAt ?? ctx.Now;
        if (request.StartDate is { } given && given < opened.AddDays(-1))
        {
            findings.Problem($"The start date {Day(given)} is in the past.");
        }

        var start = request.StartDate ?? ctx.Now;
        if (request.EndDate is not { } end)
        {
            if (requiredBy.Count > 0)
            {
                findings.Problem($"Add an end date: it is required because {string.Join(" and ", requiredBy)}.");
            }

            return;
        }

        if (end <= ctx.Now)
        {
            findings.Problem($"The end date {Day(end)} is in the past.");
        }

        if (request.StartDate is { } s && end <= s)
        {
            findings.Problem($"The end date {Day(end)} is not after the start date {Day(s)}.");
        }

        foreach (var entry in entries)
        {
            var max = entry.MaxDurationDays ?? ctx.Policy.Requests.DefaultMaxDurationDays;
            if (max is { } days && end > start.AddDays(days).AddHours(24))
            {
                findings.Problem($"{entry.DisplayName} can be granted for at most {days} days; the end date {Day(end)} is later than {Day(start.AddDays(days))}.");
            }
        }
    }

    /// <summary>Shared, service and break-glass accounts (by naming pattern, employee type or exclusion group).</summary>
    public static string? ProtectedReason(DecisionContext ctx, DirectoryUser user)
    {
        var policy = ctx.Policy.ProtectedAccounts;
        foreach (var pattern in policy.UserPrincipalNamePatterns)
        {
            if (Regex.IsMatch(user.UserPrincipalName, pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            {
                return $"{user.UserPrincipalName} matches the protected-account pattern '{pattern}' (shared, service or break-glass account)";
            }
        }

        if (user.EmployeeType is { } type && policy.EmployeeTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            return $"{user.UserPrincipalName} is a {type} account";
        }

        if (policy.ExclusionGroupId is { } group && ctx.MembershipsOf(user).Any(m => string.Equals(m.Id, group, StringComparison.OrdinalIgnoreCase)))
        {
            return $"{user.UserPrincipalName} is in the policy's exclusion group";
        }

        return null;
    }

    public static string Describe(Ports.PersonKey key) => CommonChecksText.Describe(key);

    public static string Day(DateTimeOffset at) => at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Shorten(string text) => text.Length <= 60 ? text.Trim() : text.Trim()[..60] + "…";
}

/// <summary>How a person key reads in messages.</summary>
public static class CommonChecksText
{
    public static string Describe(Ports.PersonKey key) => key switch
    {
        Ports.PersonKey.EmployeeId => "employee number",
        Ports.PersonKey.AtlassianAccountId => "Atlassian account id",
        Ports.PersonKey.ObjectId => "directory id",
        _ => "email address",
    };

}

/// <summary>Makes the validated request once every check that can stop it has passed.</summary>
internal static class Validation
{
    public static Requests.ValidatedAccessRequest? Validate(DecisionContext ctx, Findings findings, IReadOnlyList<CatalogEntry> entries)
    {
        if (findings.Problems.Count > 0 || ctx.Request.Type is not { } type || ctx.Target?.User is not { } target || ctx.Requester?.User is not { } requester)
        {
            return null;
        }

        return new Requests.ValidatedAccessRequest(ctx.Request, type, target, requester, entries);
    }
}
