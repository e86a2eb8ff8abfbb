using System.Globalization;
using System.Text;
using IamFulfillment.Core.Decisions;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;
using IamFulfillment.Core.Text;

namespace IamFulfillment.Core.Processing;

/// <summary>What one directory operation did, for notes and audit.</summary>
/// <param name="Earlier">Done by an earlier run of the round (which stopped before telling the ticket); when is not known here.</param>
public sealed record ExecutedStep(DirectoryOperation Operation, ChangeResult Result, DateTimeOffset At, bool Earlier = false)
{
    /// <summary>A step of the plan an earlier run of the round did: this run skipped it, the ticket is still told.</summary>
    public static ExecutedStep DoneEarlier(DirectoryOperation operation) => new(operation, new ChangeResult(ChangeStatus.Applied), DateTimeOffset.MinValue, Earlier: true);
}

/// <summary>
/// Writes the texts people read: a customer comment in plain words, and an internal note with the audit detail
/// or, for escalations, everything a senior admin needs to decide without asking again.
/// </summary>
public static class WriteBackComposer
{
    public static (string? Customer, string Internal) Compose(DecisionContext ctx, Decision decision, IReadOnlyList<ExecutedStep> steps, string round)
    {
        var number = ctx.Ticket.Number;
        var target = ctx.Target?.User;
        var targetName = Clean(target?.DisplayName ?? ctx.Request.RequestedFor?.DisplayName ?? "the person");

        if (decision.DryRun)
        {
            return (null, Note(ctx, decision, steps, round, ShadowHeadline(decision)));
        }

        if (decision.ScheduledFor is { } when)
        {
            var customer = $"Request {number} is approved and scheduled: it will be carried out at {Stamp(when)} ({ZoneOf(ctx)}). Nothing happens before then.";
            var headline = $"SCHEDULED for {Stamp(when)} — decision {decision.Outcome} by rule {decision.Rule}.";
            if (decision.Outcome == Outcome.Escalated)
            {
                // Say now what will need a person then, so nobody learns it only at termination time.
                headline += "\nAt that time the service does what it may and hands the rest to people:\n"
                    + string.Join("\n", decision.Reasons.Select(r => $"- {Clean(r.Text)} [{r.Rule}]"));
            }

            return (customer, Note(ctx, decision, steps, round, headline));
        }

        switch (decision.Outcome)
        {
            case Outcome.Fulfilled:
                return (FulfilledText(ctx, decision, steps, targetName), Note(ctx, decision, steps, round, $"FULFILLED automatically (rule {decision.Rule})."));
            case Outcome.NeedsInfo:
            {
                var text = new StringBuilder()
                    .Append("We could not process request ").Append(number).Append(" yet. Please update the request:");
                var i = 1;
                foreach (var problem in decision.Problems)
                {
                    text.Append('\n').Append(i++).Append(". ").Append(Sentence(problem));
                }

                text.Append("\nWhen you update the request it is checked again automatically.");
                return (text.ToString(), Note(ctx, decision, steps, round, $"NEEDS INFO — {decision.Problems.Count} problem(s) sent to the requester in one comment."));
            }

            case Outcome.Rejected:
                return ($"Request {number} was not fulfilled: {Sentence(decision.Summary)}", Note(ctx, decision, steps, round, $"REJECTED (rule {decision.Rule}): {Sentence(decision.Summary)}"));
            default:
            {
                var done = steps.Any(s => s.Result.Succeeded && s.Result.Status == ChangeStatus.Applied)
                    ? " Part of the work was done already; the rest needs a person."
                    : "";
                var customer = $"Request {number} needs a decision by a person in the IAM team.{done} They have all the details from this ticket, so you do not need to do anything now.";
                return (customer, EscalationNote(ctx, decision, steps, round));
            }
        }
    }

    /// <summary>
    /// What shadow mode would have done, so an IAM team can judge the automation before turning it on: the decision
    /// and its rule, the directory changes it would have made, and the reasons or problems it would have written.
    /// </summary>
    private static string ShadowHeadline(Decision decision)
    {
        var text = new StringBuilder()
            .Append("DRY RUN (shadow mode) — the service would have decided: ").Append(decision.Outcome).Append(" (rule ").Append(decision.Rule).Append(").")
            .Append(" Nothing was changed in the directory and the ticket state was left as it is.");
        if (decision.Plan is { } plan && plan.Operations.Any())
        {
            text.Append("\nWould change in the directory:");
            foreach (var operation in plan.Operations)
            {
                text.Append("\n- ").Append(operation.Describe());
            }
        }

        if (decision.Outcome == Outcome.NeedsInfo && decision.Problems.Count > 0)
        {
            text.Append("\nWould ask the requester:");
            foreach (var problem in decision.Problems)
            {
                text.Append("\n- ").Append(Sentence(problem));
            }
        }

        if (decision.Outcome is Outcome.Escalated or Outcome.Rejected && decision.Reasons.Count > 0)
        {
            text.Append("\nWhy:");
            foreach (var reason in decision.Reasons)
            {
                text.Append("\n- ").Append(Sentence(reason.Text)).Append(" [").Append(reason.Rule).Append(']');
            }
        }

        return text.ToString();
    }

    /// <summary>The note an admin reads: who, what, which rule, what was verified and what not, current privileged access, the ticket.</summary>
    public static string EscalationNote(DecisionContext ctx, Decision decision, IReadOnlyList<ExecutedStep> steps, string round)
    {
        var text = new StringBuilder();
        text.Append("ESCALATION — needs a person (queue: ").Append(decision.QueueKind ?? QueueKinds.Iam).Append(")\n");
        text.Append("Why (rule ").Append(decision.Rule).Append("):\n");
        foreach (var reason in decision.Reasons.DefaultIfEmpty(new Finding(decision.Rule, decision.Summary)))
        {
            text.Append("- ").Append(Sentence(reason.Text)).Append(" [").Append(reason.Rule).Append("]\n");
        }

        AppendWhoAndWhat(ctx, text);
        AppendLists(decision, text);

        var access = DecisionEngine.SensitiveAccess(ctx);
        text.Append("Target's current privileged/sensitive access: ").Append(access.Count == 0 ? "none found" : string.Join("; ", access.Select(a => Clean(a)))).Append('\n');
        AppendSteps(steps, text, "Done so far");
        var notDone = steps.Where(s => !s.Result.Succeeded).ToList();
        if (notDone.Count > 0)
        {
            text.Append("Not done:\n");
            foreach (var step in notDone)
            {
                text.Append("- ").Append(step.Operation.Describe()).Append(": ").Append(step.Result.Status).Append(' ').Append(Clean(step.Result.Detail)).Append('\n');
            }
        }

        if (decision.SecurityApprovalCarriesOut)
        {
            text.Append("To have the service carry it out: add an approval from a member of the security approvers group; the next update of the ticket fulfils it and records who decided.\n");
        }

        text.Append("Ticket: ").Append(ctx.Ticket.Number).Append(ctx.Ticket.Url is null ? "" : " " + ctx.Ticket.Url).Append('\n');
        text.Append("Policy ").Append(decision.PolicyVersion).Append(", round ").Append(round).Append('.');
        return text.ToString();
    }

    private static string FulfilledText(DecisionContext ctx, Decision decision, IReadOnlyList<ExecutedStep> steps, string targetName)
    {
        var number = ctx.Ticket.Number;
        var until = ctx.Request.EndDate is { } end ? $" until {end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} (it is removed automatically then)" : "";
        var added = steps.Where(s => s.Operation is AddMember && s.Result.Succeeded).Select(s => Clean(((AddMember)s.Operation).GroupName)).ToList();
        var removed = steps.Where(s => s.Operation is RemoveMember && s.Result.Succeeded).Select(s => Clean(((RemoveMember)s.Operation).GroupName)).ToList();
        switch (ctx.Request.Type)
        {
            case RequestType.AccessGrant:
                return $"Request {number} is complete: {targetName} now has access to {Join(added)}{until}. It can take a few minutes to show in applications.";
            case RequestType.AccessRemoval:
                return $"Request {number} is complete: {targetName} no longer has access to {Join(removed)}.";
            case RequestType.Joiner:
                return added.Count == 0
                    ? $"Request {number} is complete: no birthright access applies to {targetName}'s role."
                    : $"Request {number} is complete: {targetName} has the birthright access for their role: {Join(added)}.";
            case RequestType.Mover:
                return $"Request {number} is complete: {targetName}'s access follows the new role. Added: {Join(added, "nothing")}. Removed: {Join(removed, "nothing")}.";
            case RequestType.Leaver:
                return $"Request {number} is complete: {targetName}'s sign-in is disabled, their sessions are revoked and {removed.Count} group membership(s) were removed.";
            case RequestType.MfaReset:
                var issued = steps.FirstOrDefault(s => s.Operation is IssueTemporaryAccessPass);
                var tap = issued?.Operation as IssueTemporaryAccessPass;
                var expires = tap is null ? "shortly"
                    : issued!.Earlier ? $"{tap.LifetimeMinutes} minutes after it was sent"
                    : $"at {Stamp(issued.At.AddMinutes(tap.LifetimeMinutes))}";
                var manager = Clean(ctx.Target?.User?.Manager?.DisplayName ?? "the manager");
                return $"Request {number} is complete: a one-time Temporary Access Pass was sent by e-mail to {manager} ({Clean(tap?.DeliverToAddress)}), who will hand it to {targetName} in person. It expires {expires}. The previous MFA methods were removed and sessions revoked: sign in with the pass and register new methods.";
            default:
                return $"Request {number} is complete. {Clean(decision.Summary)}";
        }
    }

    private static string Note(DecisionContext ctx, Decision decision, IReadOnlyList<ExecutedStep> steps, string round, string headline)
    {
        var text = new StringBuilder().Append(headline).Append('\n');
        AppendWhoAndWhat(ctx, text);
        AppendLists(decision, text);
        AppendSteps(steps, text, "Directory changes");
        if (decision.DecidedBy is { } decider)
        {
            text.Append("Decided by: ").Append(Clean(decider)).Append(" (security approval in the ticket).\n");
        }

        text.Append("Policy ").Append(decision.PolicyVersion).Append(", round ").Append(round).Append('.');
        return text.ToString();
    }

    private static void AppendWhoAndWhat(DecisionContext ctx, StringBuilder text)
    {
        var request = ctx.Request;
        var target = ctx.Target?.User;
        text.Append("Request: ").Append(request.Type?.ToString() ?? Clean(request.RawType) ?? "(type unknown)");
        if (request.EntitlementIds.Count > 0)
        {
            var names = request.EntitlementIds.Select(id => ctx.Policy.FindEntitlement(id) is { } e ? $"{e.DisplayName} [{e.Id}, {e.Tier.ToString().ToLowerInvariant()}]" : $"\"{Clean(id)}\" (not in catalog)");
            text.Append(": ").Append(string.Join(", ", names));
        }

        text.Append('\n');
        if (target is not null)
        {
            text.Append("Target: ").Append(Clean(target.DisplayName)).Append(" <").Append(target.UserPrincipalName).Append(">, id ").Append(target.Id)
                .Append(", ").Append(target.UserType ?? "Member").Append(", employee type ").Append(target.EmployeeType ?? "(none)")
                .Append(", department ").Append(Clean(target.Department) is { Length: > 0 } d ? d : "(none)")
                .Append(", ").Append(target.AccountEnabled ? "enabled" : "DISABLED")
                .Append(target.OnPremisesSynced ? ", synced from on-premises" : "")
                .Append(", manager ").Append(target.Manager is { } m ? $"{Clean(m.DisplayName)} ({m.Id})" : "(none in directory)").Append('\n');
        }
        else if (request.RequestedFor is { } named)
        {
            text.Append("Target: ").Append(Clean(named.Describe())).Append(" (not matched in the directory)\n");
        }

        if (ctx.Requester?.User is { } requester)
        {
            text.Append("Requester: ").Append(Clean(requester.DisplayName)).Append(" <").Append(requester.UserPrincipalName).Append(">, id ").Append(requester.Id).Append('\n');
        }

        if (request.Justification is { } why)
        {
            text.Append("Justification: \"").Append(Clean(why, 300)).Append("\"\n");
        }

        if (request.StartDate is not null || request.EndDate is not null)
        {
            text.Append("Dates: ").Append(request.StartDate is { } s ? $"from {Stamp(s)} " : "").Append(request.EndDate is { } e2 ? $"until {Stamp(e2)}" : "no end date").Append('\n');
        }

        if (request.TerminationAt is { } term)
        {
            text.Append("Termination: ").Append(Stamp(term)).Append('\n');
        }

        if (ctx.Ticket.Approvals.Count > 0)
        {
            text.Append("Approvals in the ticket: ").Append(string.Join("; ", ctx.Ticket.Approvals.Select(a =>
                $"{Clean(a.Approver.DisplayName ?? a.Approver.ItsmId)} {a.State.ToString().ToLowerInvariant()}" +
                (a.DecidedAt is { } at ? $" {Stamp(at)}" : "") +
                (a.ActedBy is { } by && by.ItsmId != a.Approver.ItsmId ? $" (acted by {Clean(by.DisplayName ?? by.ItsmId)})" : "") +
                (a.Scope == ApprovalScope.ParentRequest ? " [parent request]" : "")))).Append('\n');
        }
    }

    private static void AppendLists(Decision decision, StringBuilder text)
    {
        if (decision.Verified.Count > 0)
        {
            text.Append("Verified:\n");
            foreach (var line in decision.Verified)
            {
                text.Append("- ").Append(Sentence(line)).Append('\n');
            }
        }

        if (decision.NotVerified.Count > 0)
        {
            text.Append("Not verified:\n");
            foreach (var line in decision.NotVerified)
            {
                text.Append("- ").Append(Sentence(line)).Append('\n');
            }
        }
    }

    private static void AppendSteps(IReadOnlyList<ExecutedStep> steps, StringBuilder text, string title)
    {
        var done = steps.Where(s => s.Result.Succeeded).ToList();
        if (done.Count == 0)
        {
            return;
        }

        text.Append(title).Append(":\n");
        foreach (var step in done)
        {
            text.Append("- ").Append(step.Operation.Describe()).Append(": ")
                .Append(step.Earlier ? "done by an earlier run of this round" : step.Result.Status == ChangeStatus.NoOp ? "no change needed" : "done")
                .Append(step.Earlier ? "" : " at " + Stamp(step.At))
                .Append(step.Result.RequestId is { } id ? $" (Graph request-id {id})" : "")
                .Append('\n');
        }
    }

    private static string ZoneOf(DecisionContext ctx) => ctx.Request.TimeZone ?? ctx.Policy.Leaver.DefaultTimeZone;

    private static string Join(IReadOnlyList<string> items, string empty = "(nothing)") => items.Count == 0 ? empty : string.Join(", ", items);

    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Clean(string? text, int max = 200) => Markup.Clean(text, max);

    /// <summary>
    /// A sentence the service composed (a reason, a check, a problem). Whatever ticket text it quotes is already
    /// shortened where it was quoted; the cap here only bounds the note, and is long enough never to cut off the
    /// reason an admin has to read.
    /// </summary>
    private static string Sentence(string? text) => Markup.Clean(text, 1000);
}
