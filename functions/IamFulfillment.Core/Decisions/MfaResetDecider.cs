using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Decisions;

/// <summary>
/// MFA recovery: identity verified by a service-desk member who is not the target and who recorded it in the
/// ticket (opened it, or set the verifier field per its history), never for admins, guests or
/// protected people; a one-time Temporary Access Pass first (to the verified manager only), then the old
/// methods go and sessions are revoked. Repeated resets are counted at execution, serialised per person.
/// </summary>
internal static class MfaResetDecider
{
    public static FulfilmentPlan? Decide(DecisionContext ctx, Findings findings)
    {
        ApprovalVerifier.CheckRejections(ctx, findings);
        CommonChecks.People(ctx, findings);
        var request = ctx.Request;
        var policy = ctx.Policy.MfaRecovery;

        if (request.VerificationMethod is null)
        {
            findings.Problem($"Say how the person's identity was verified (one of: {string.Join(", ", policy.AcceptedVerificationMethods)}).");
        }
        else if (!policy.AcceptedVerificationMethods.Contains(request.VerificationMethod, StringComparer.OrdinalIgnoreCase))
        {
            findings.Problem($"\"{CommonChecks.Shorten(request.VerificationMethod)}\" is not an accepted identity verification method (accepted: {string.Join(", ", policy.AcceptedVerificationMethods)}).");
        }

        if (request.VerifiedBy is null)
        {
            findings.Problem("Say who verified the person's identity (a service desk member).");
        }
        else if (ctx.Match(request.VerifiedBy) is not { Resolved: true })
        {
            findings.Problem(ctx.Match(request.VerifiedBy)?.Problem ?? "The person who verified the identity could not be matched to a directory account.");
        }

        if (request.VerifiedAt is null)
        {
            findings.Problem("Say when the identity was verified.");
        }
        else if (request.VerifiedAt > ctx.Now.AddMinutes(5))
        {
            findings.Problem("The verification time is in the future.");
        }
        else if (request.VerifiedAt < ctx.Now.AddHours(-policy.EvidenceMaxAgeHours))
        {
            findings.Problem($"The identity verification is older than {policy.EvidenceMaxAgeHours} hours; verify the person again.");
        }

        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            findings.Problem("Say why the MFA methods must be reset (lost phone, new device, …).");
        }

        var verifier = ctx.Match(request.VerifiedBy)?.User;
        if (verifier is null || Validation.Validate(ctx, findings, []) is not { } valid)
        {
            return null;
        }

        var target = valid.Target;

        if (verifier.Id == target.Id)
        {
            findings.Hard(Rules.MfaEvidence, "The person verified their own identity; verification must be done by someone else.", QueueKinds.Soc);
        }
        else if (policy.ServiceDeskGroupId is null || !ApprovalVerifier.IsMember(ctx, verifier, policy.ServiceDeskGroupId))
        {
            findings.Hard(Rules.MfaEvidence, $"{verifier.Describe()}, who verified the identity, is not in the service desk group.");
        }
        else if (!RecordedByVerifier(ctx, verifier))
        {
            // Evidence counts only when the verifier recorded it; a name typed in by someone else is a claim, like
            // an approval written in a comment.
            var opener = ctx.Requester?.User?.Describe() ?? "someone else";
            findings.Hard(Rules.MfaEvidence, $"The identity verification names {verifier.Describe()}, but {opener} opened the ticket and its history does not show {verifier.DisplayName ?? verifier.UserPrincipalName} recording the verification; the service cannot tell that it took place.");
        }
        else
        {
            findings.Verified.Add($"Identity verified by {verifier.Describe()} (service desk) using {request.VerificationMethod} at {ApprovalVerifier.Stamp(request.VerifiedAt)}.");
        }

        if (CommonChecks.ProtectedReason(ctx, target) is { } protectedReason)
        {
            findings.Hard(Rules.MfaProtectedTarget, $"Protected account: {protectedReason}.", QueueKinds.Privileged);
        }

        if (!target.AccountEnabled)
        {
            findings.Hard(Rules.TargetDisabled, $"The account {target.Describe()} is disabled.");
        }

        if (target.IsGuest)
        {
            findings.Hard(Rules.MfaGuestTarget, "Guests recover MFA with their home organisation; the service does not reset guest methods.");
        }

        if (LifecycleDecider.IsAdmin(ctx, target))
        {
            findings.Hard(Rules.MfaAdminTarget, $"{target.Describe()} holds admin roles or privileged access: MFA resets for admins are done by people.", QueueKinds.Privileged);
        }

        var protectedGroups = policy.ProtectedGroupIds.ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (ctx.MembershipsOf(target).FirstOrDefault(m => protectedGroups.Contains(m.Id)) is { } protectedGroup)
        {
            findings.Hard(Rules.MfaProtectedTarget, $"{target.Describe()} is in {protectedGroup.DisplayName ?? protectedGroup.Id}, whose MFA is never reset automatically.", QueueKinds.Privileged);
        }

        var manager = target.Manager;
        var managerAddress = manager?.Mail;
        if (manager is null || string.IsNullOrWhiteSpace(managerAddress) || !manager.AccountEnabled)
        {
            findings.Hard(Rules.MfaNoManager, "The directory lists no manager with a mailbox to receive the Temporary Access Pass.");
            return null;
        }

        findings.Verified.Add($"The Temporary Access Pass goes to the manager per the directory, {manager.DisplayName ?? manager.Id}.");
        return FulfilmentPlan.For(
            valid,
            [new IssueTemporaryAccessPass(target.Id, policy.TemporaryAccessPassLifetimeMinutes, manager.Id, managerAddress, target.DisplayName ?? target.UserPrincipalName)],
            [new RemoveAuthenticationMethods(target.Id)],
            [new RevokeSessions(target.Id)]);
    }

    /// <summary>The verifier opened the ticket, or the ticket's history shows the verifier last set who verified.</summary>
    private static bool RecordedByVerifier(DecisionContext ctx, DirectoryUser verifier)
    {
        if (ctx.Requester?.User?.Id == verifier.Id)
        {
            return true;
        }

        var named = ctx.Request.VerifiedBy;
        var lastSet = ctx.Ticket.MaterialChanges.Where(c => c.Field == RequestFields.VerifiedBy).MaxBy(c => c.At);
        return named is not null && lastSet?.ChangedBy is { } by
            && (string.Equals(by, named.ItsmId, StringComparison.Ordinal) || string.Equals(by, named.UserName, StringComparison.OrdinalIgnoreCase));
    }
}