namespace IamFulfillment.Core.Fulfilment;

/// <summary>One change in the directory. Each has a stable <see cref="StepId"/> so a resumed run skips finished steps.</summary>
public abstract record DirectoryOperation
{
    public abstract string StepId { get; }

    /// <summary>Destructive operations count against the safety brake.</summary>
    public virtual DestructiveKind? Destructive => null;

    /// <summary>
    /// Doing it again after it succeeded changes nothing, so a run may go on to the next stage before recording it:
    /// after a crash it is simply done again.
    /// </summary>
    public virtual bool SafeToRepeat => true;

    public abstract string Describe();

    /// <summary>The operation (type name) a <see cref="StepId"/> belongs to, by its prefix; null for an unknown one.</summary>
    public static string? OperationOf(string stepId) => stepId[..Math.Max(0, stepId.IndexOf(':', StringComparison.Ordinal))] switch
    {
        "add" => nameof(AddMember),
        "remove" => nameof(RemoveMember),
        "disable" => nameof(DisableAccount),
        "revoke" => nameof(RevokeSessions),
        "tap" => nameof(IssueTemporaryAccessPass),
        "methods" => nameof(RemoveAuthenticationMethods),
        _ => null,
    };
}

public enum DestructiveKind
{
    Disable,
    Removal,
    MfaReset,
}

public sealed record AddMember(string GroupId, string UserId, string GroupName) : DirectoryOperation
{
    public override string StepId => $"add:{GroupId}:{UserId}";

    public override string Describe() => $"add {UserId} to group {GroupName} ({GroupId})";
}

public sealed record RemoveMember(string GroupId, string UserId, string GroupName) : DirectoryOperation
{
    public override string StepId => $"remove:{GroupId}:{UserId}";

    public override DestructiveKind? Destructive => DestructiveKind.Removal;

    public override string Describe() => $"remove {UserId} from group {GroupName} ({GroupId})";
}

public sealed record DisableAccount(string UserId) : DirectoryOperation
{
    public override string StepId => $"disable:{UserId}";

    public override DestructiveKind? Destructive => DestructiveKind.Disable;

    public override string Describe() => $"disable sign-in for {UserId}";
}

public sealed record RevokeSessions(string UserId) : DirectoryOperation
{
    public override string StepId => $"revoke:{UserId}";

    public override string Describe() => $"revoke sign-in sessions of {UserId}";
}

/// <summary>
/// Issue a one-time Temporary Access Pass and mail it to the verified manager in one step: the pass is never
/// stored, so if the run stops between the two, the step is redone and a fresh pass replaces the old one.
/// </summary>
public sealed record IssueTemporaryAccessPass(string UserId, int LifetimeMinutes, string DeliverToUserId, string DeliverToAddress, string TargetName) : DirectoryOperation
{
    public override string StepId => $"tap:{UserId}";

    public override DestructiveKind? Destructive => DestructiveKind.MfaReset;

    /// <summary>A second pass replaces the first, which the manager may already have handed on.</summary>
    public override bool SafeToRepeat => false;

    public override string Describe() => $"issue a one-time Temporary Access Pass for {UserId} ({LifetimeMinutes} min) and mail it to manager {DeliverToUserId}";
}

/// <summary>Remove every registered authentication method except password and the pass just issued.</summary>
public sealed record RemoveAuthenticationMethods(string UserId) : DirectoryOperation
{
    public override string StepId => $"methods:{UserId}";

    /// <summary>Done again later, it would remove what the person registered meanwhile with the new pass.</summary>
    public override bool SafeToRepeat => false;

    public override string Describe() => $"remove the registered MFA methods of {UserId}";
}
