using System.Globalization;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>A stage the request needs; owner stages are per entitlement.</summary>
internal sealed record StageRequirement(ApprovalStage Stage, CatalogEntry? Entry = null)
{
    public string Describe() => Stage switch
    {
        ApprovalStage.Manager => "the target's manager",
        ApprovalStage.Owner => $"the owner of {Entry?.DisplayName ?? "the entitlement"}",
        _ => "the security approvers",
    };
}

/// <summary>
/// Verifies approvals against the ITSM records and the directory: the right person for each stage (the target's
/// manager per the directory, the entitlement's owner, a security approver), never the requester or the target,
/// the person who actually acted (delegates only where policy allows; enabled accounts only), given after the
/// last material change, one stage per person for the security decision; a rejection anywhere rejects. Only ITSM
/// approval records count: nothing in comments, fields or webhook bodies is an approval.
/// This is the one place the rule "self-approval is not an approval" lives.
/// </summary>
internal static class ApprovalVerifier
{
    /// <summary>Why a decided approval did not count for a stage, most telling first.</summary>
    private enum Flaw
    {
        None,
        Stale,
        ManagerOwnRequest,
        Self,
        SecondStage,
        DelegateNotAllowed,
        Disabled,
        Unmapped,
        WrongPerson,
    }

    /// <summary>
    /// A rejection anywhere (item or parent request) rejects, also one recorded before the request last changed:
    /// an edit does not withdraw a "no", and later approvals by others (a delegate) must not outvote it. The ITSM
    /// resets the approval when a person wants the changed request approved again.
    /// </summary>
    public static void CheckRejections(DecisionContext ctx, Findings findings)
    {
        var lastChange = ctx.Ticket.LastMaterialChange;
        foreach (var approval in ctx.Ticket.Approvals.Where(a => a.State == ApprovalState.Rejected).OrderByDescending(a => a.DecidedAt))
        {
            var comment = string.IsNullOrWhiteSpace(approval.Comment) ? "no reason given" : $"\"{approval.Comment.Trim()}\"";
            var where = approval.Scope == ApprovalScope.ParentRequest ? " on the parent request" : "";
            findings.ApprovalRejection ??= new Finding(Rules.ApprovalRejected,
                $"{approval.Approver.DisplayName ?? approval.Approver.ItsmId} rejected the request{where}: {comment}.");
            if (lastChange is { } changed && approval.DecidedAt is { } at && at < changed)
            {
                findings.NotVerified.Add($"The rejection by {approval.Approver.Describe()} ({Stamp(at)}) predates the last change of the request ({Stamp(changed)}); it still stands until the approval is requested again.");
            }
        }
    }

    public static bool AnyPending(DecisionContext ctx, out string? who)
    {
        var pending = ctx.Ticket.Approvals.FirstOrDefault(a => a.State == ApprovalState.Requested);
        who = pending?.Approver.DisplayName ?? pending?.Approver.ItsmId;
        return pending is not null;
    }

    /// <summary>
    /// Finds a valid security-stage approval (it carries out soft escalations); null if none. It is an added,
    /// independent stage: its own approval record, by a security approver acting for themselves, who is not also
    /// the target's manager or an owner of what is requested (one person's approval counts for one stage only).
    /// </summary>
    public static string? FindSecurityDecision(DecisionContext ctx, Findings findings)
    {
        if (ctx.Policy.Approvals.SecurityApproverGroupId is null)
        {
            return null;
        }

        foreach (var approval in Approved(ctx))
        {
            var (flaw, _, actor, _) = Assess(ctx, approval, new StageRequirement(ApprovalStage.Security));
            if (flaw == Flaw.None && actor is not null)
            {
                findings.Verified.Add($"Security approval by {actor.Describe()} at {Stamp(approval.DecidedAt)} (member of the security approvers group).");
                return actor.DisplayName ?? actor.UserPrincipalName;
            }
        }

        return null;
    }

    /// <summary>Checks each required stage; unmet stages become soft escalations naming the precise reason.</summary>
    public static void VerifyStages(DecisionContext ctx, IReadOnlyList<StageRequirement> requirements, bool allStandard, Findings findings)
    {
        var target = ctx.Target?.User;
        var requester = ctx.Requester?.User;
        foreach (var requirement in requirements)
        {
            if (requirement.Stage == ApprovalStage.Manager && target is not null && requester is not null
                && target.Manager?.Id == requester.Id)
            {
                // The manager asked for their own report. That is not an independent approval, unless policy
                // lets the request count as the manager stage for standard entitlements.
                if (ctx.Policy.Approvals.ManagerRequestCountsAsManagerApproval && allStandard)
                {
                    // The request is the manager's approval only of what the manager asked for: a material change by
                    // anyone else afterwards makes it stale, like any approval.
                    var requesterItsm = ctx.Request.Requester;
                    var byOthers = ctx.Ticket.MaterialChanges.LastOrDefault(c => !SameItsmPerson(c.ChangedBy, requesterItsm));
                    if (byOthers is null)
                    {
                        findings.Verified.Add($"Manager stage: requested by the target's manager {requester.Describe()}; policy counts that as the manager's approval for standard entitlements.");
                        continue;
                    }

                    findings.Soft(Rules.ApprovalStale, $"{NameOf(ctx, byOthers.ChangedBy)} changed the request after its manager {requester.Describe()} opened it ({byOthers.Field} at {Stamp(byOthers.At)}), so the manager's own request no longer counts as the manager's approval.");
                    continue;
                }
            }

            if (requirement.Stage == ApprovalStage.Owner && string.IsNullOrWhiteSpace(requirement.Entry?.Owner))
            {
                findings.Soft(Rules.OwnerUnknown, $"{requirement.Entry?.DisplayName} has no owner in the policy, so its owner approval cannot be verified.");
                continue;
            }

            if (requirement.Stage == ApprovalStage.Manager && target?.Manager is null)
            {
                findings.Soft(Rules.ApprovalMissing, $"The directory lists no manager for {target?.Describe() ?? "the target"}, so the manager approval cannot be verified.");
                continue;
            }

            var best = Flaw.WrongPerson;
            ApprovalRecord? bestRecord = null;
            var satisfied = false;
            foreach (var approval in Approved(ctx))
            {
                var (flaw, approver, actor, isDelegate) = Assess(ctx, approval, requirement);
                if (flaw == Flaw.None)
                {
                    var delegateNote = isDelegate ? $" as delegate of {approver?.Describe()}" : "";
                    findings.Verified.Add($"{Capitalise(requirement.Describe())}: approved by {actor?.Describe()}{delegateNote} at {Stamp(approval.DecidedAt)}, after the last change of the request.");
                    satisfied = true;
                    break;
                }

                if (bestRecord is null || flaw < best)
                {
                    best = flaw;
                    bestRecord = approval;
                }
            }

            if (satisfied)
            {
                continue;
            }

            var who = bestRecord?.ActedBy?.Describe() ?? bestRecord?.Approver.Describe();
            var stage = requirement.Describe();
            switch (bestRecord is null ? Flaw.WrongPerson : best)
            {
                case Flaw.Stale:
                    findings.Soft(Rules.ApprovalStale, $"The approval by {who} for {stage} was given at {Stamp(bestRecord!.DecidedAt)}, before the request last changed at {Stamp(ctx.Ticket.LastMaterialChange)}; it no longer covers the request.");
                    break;
                case Flaw.ManagerOwnRequest:
                    findings.Soft(Rules.ApprovalManagerOwnRequest, $"{who} both requested this for a direct report and approved it: the manager stage was not independently approved.");
                    break;
                case Flaw.Self:
                    findings.Soft(Rules.ApprovalSelf, $"{who} approved a request they opened or that is for themselves; self-approval is not an approval ({stage}).");
                    break;
                case Flaw.SecondStage:
                    findings.Soft(Rules.ApprovalSamePersonTwoStages, $"{who} is in the security approvers group but already stands for {OtherStage(ctx, ctx.Match(bestRecord!.ActedBy ?? bestRecord.Approver)?.User)}; the security decision must come from another member of the group.");
                    break;
                case Flaw.DelegateNotAllowed:
                    findings.Soft(Rules.ApprovalDelegateNotAllowed, $"{who} approved on behalf of {bestRecord!.Approver.Describe()}; policy does not accept delegated approvals ({stage}).");
                    break;
                case Flaw.Disabled:
                    findings.Soft(Rules.ApprovalApproverDisabled, $"{who} approved, but their directory account is disabled (or that of the person they acted for); an approval from a disabled account does not count ({stage}).");
                    break;
                case Flaw.Unmapped:
                    findings.Soft(Rules.ApprovalUnverifiedApprover, $"The approver {who} could not be matched to exactly one directory user, so the approval for {stage} cannot be verified.");
                    break;
                default:
                    var present = Approved(ctx).Select(a => (a.ActedBy ?? a.Approver).Describe()).Distinct(StringComparer.Ordinal).ToList();
                    findings.Soft(Rules.ApprovalMissing, present.Count == 0
                        ? $"No approval from {stage} is on the ticket."
                        : $"No approval from {stage} is on the ticket; it has approvals from {string.Join(", ", present)}.");
                    break;
            }
        }
    }

    private static IEnumerable<ApprovalRecord> Approved(DecisionContext ctx) =>
        ctx.Ticket.Approvals.Where(a => a.State == ApprovalState.Approved).OrderByDescending(a => a.DecidedAt);

    private static (Flaw Flaw, DirectoryUser? Approver, DirectoryUser? Actor, bool IsDelegate) Assess(
        DecisionContext ctx, ApprovalRecord approval, StageRequirement requirement)
    {
        var approver = ctx.Match(approval.Approver)?.User;
        var isDelegate = approval.ActedBy is not null && approval.ActedBy.ItsmId != approval.Approver.ItsmId;
        var actor = isDelegate ? ctx.Match(approval.ActedBy)?.User : approver;
        if (approver is null || actor is null)
        {
            return (Flaw.Unmapped, approver, actor, isDelegate);
        }

        // Someone whose account is disabled has left or is suspended: a click in the ITSM under that name is not
        // an approval the service can rely on.
        if (!actor.AccountEnabled || !approver.AccountEnabled)
        {
            return (Flaw.Disabled, approver, actor, isDelegate);
        }

        // Independence first: whoever opened the request or is its target never approves it, whatever stage they
        // approved in; a manager who asked for their own report is the special case of that.
        var requester = ctx.Requester?.User;
        var target = ctx.Target?.User;
        if (requirement.Stage == ApprovalStage.Manager && requester is not null && requester.Id == approver.Id && target?.Manager?.Id == requester.Id)
        {
            return (Flaw.ManagerOwnRequest, approver, actor, isDelegate);
        }

        if (IsSelf(actor, requester, target) || IsSelf(approver, requester, target))
        {
            return (Flaw.Self, approver, actor, isDelegate);
        }

        // Is this the right person for the stage? A delegate acting on someone else's record approves that
        // person's stage, never the security stage.
        var rightPerson = requirement.Stage switch
        {
            ApprovalStage.Manager => target?.Manager?.Id == approver.Id,
            ApprovalStage.Owner => SamePerson(approver, requirement.Entry?.Owner),
            _ => ctx.Policy.Approvals.SecurityApproverGroupId is { } g && IsMember(ctx, actor, g) && IsMember(ctx, approver, g),
        };
        if (!rightPerson)
        {
            return (Flaw.WrongPerson, approver, actor, isDelegate);
        }

        if (requirement.Stage == ApprovalStage.Security && OtherStage(ctx, actor) is not null)
        {
            return (Flaw.SecondStage, approver, actor, isDelegate);
        }

        if (isDelegate && !ctx.Policy.Approvals.AllowDelegates)
        {
            return (Flaw.DelegateNotAllowed, approver, actor, isDelegate);
        }

        // Given after the last change, provably: the same instant (ITSM clocks tick in seconds) is not after it.
        var lastChange = ctx.Ticket.LastMaterialChange;
        if (lastChange is { } changed && (approval.DecidedAt is not { } at || at <= changed))
        {
            return (Flaw.Stale, approver, actor, isDelegate);
        }

        return (Flaw.None, approver, actor, isDelegate);
    }

    /// <summary>The stage a person already stands for in this request (target's manager, an entitlement's owner), if any.</summary>
    private static string? OtherStage(DecisionContext ctx, DirectoryUser? person)
    {
        if (person is null)
        {
            return null;
        }

        if (ctx.Target?.User?.Manager?.Id == person.Id)
        {
            return "the target's manager";
        }

        return DecisionEngine.EntriesOf(ctx).FirstOrDefault(e => SamePerson(person, e.Owner)) is { } owned
            ? $"the owner of {owned.DisplayName}"
            : null;
    }

    /// <summary>A person the ticket knows, by ITSM id or user name, as people read it.</summary>
    private static string NameOf(DecisionContext ctx, string? itsmId)
    {
        var known = new[] { ctx.Request.RequestedFor, ctx.Request.Requester, ctx.Request.VerifiedBy }
            .Concat(ctx.Ticket.Approvals.SelectMany(a => new[] { a.Approver, a.ActedBy }))
            .OfType<ItsmPerson>()
            .FirstOrDefault(p => SameItsmPerson(itsmId, p));
        return known?.Describe() ?? itsmId ?? "Someone";
    }

    private static bool SameItsmPerson(string? changedBy, ItsmPerson? person) =>
        person is not null && changedBy is not null
        && (string.Equals(changedBy, person.ItsmId, StringComparison.Ordinal) || string.Equals(changedBy, person.UserName, StringComparison.OrdinalIgnoreCase));

    private static bool IsSelf(DirectoryUser person, DirectoryUser? requester, DirectoryUser? target) =>
        person.Id == requester?.Id || person.Id == target?.Id;

    public static bool SamePerson(DirectoryUser user, string? upnOrMail) =>
        !string.IsNullOrWhiteSpace(upnOrMail)
        && (string.Equals(user.UserPrincipalName, upnOrMail, StringComparison.OrdinalIgnoreCase)
            || string.Equals(user.Mail, upnOrMail, StringComparison.OrdinalIgnoreCase));

    public static bool IsMember(DecisionContext ctx, DirectoryUser user, string groupId) =>
        ctx.MembershipsOf(user).Any(m => string.Equals(m.Id, groupId, StringComparison.OrdinalIgnoreCase));

    public static string Stamp(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "an unknown time";

    private static string Capitalise(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
