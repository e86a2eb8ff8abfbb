namespace IamFulfillment.Core.Model;

/// <summary>A directory (Entra ID) user with the attributes decisions rely on. The directory is authoritative for them.</summary>
public sealed record DirectoryUser
{
    public required string Id { get; init; }
    public required string UserPrincipalName { get; init; }
    public string? DisplayName { get; init; }
    public string? Mail { get; init; }
    public string? EmployeeId { get; init; }
    public string? EmployeeType { get; init; }

    /// <summary>"Member" or "Guest".</summary>
    public string? UserType { get; init; }

    public bool AccountEnabled { get; init; } = true;
    public string? Department { get; init; }
    public string? JobTitle { get; init; }
    public bool OnPremisesSynced { get; init; }

    /// <summary>The manager per the directory, when it was read with the user.</summary>
    public DirectoryManager? Manager { get; init; }

    public bool IsGuest => string.Equals(UserType, "Guest", StringComparison.OrdinalIgnoreCase);

    public string Describe() => $"{DisplayName ?? UserPrincipalName} ({Id})";
}

public sealed record DirectoryManager(string Id, string? DisplayName, string? UserPrincipalName, string? Mail, bool AccountEnabled = true);

/// <summary>A directory group with the properties that decide whether the service may change its members.</summary>
public sealed record DirectoryGroup
{
    public required string Id { get; init; }
    public string? DisplayName { get; init; }
    public bool IsRoleAssignable { get; init; }
    public bool IsDynamic { get; init; }
    public bool OnPremisesSynced { get; init; }

    /// <summary>Groups this group is (transitively) nested in.</summary>
    public IReadOnlyList<string> ParentGroupIds { get; init; } = [];
}

public enum MembershipKind
{
    Group,
    DirectoryRole,
}

/// <summary>A group or directory role the user is a member of, with what decides whether the service may change it.</summary>
public sealed record Membership(
    string Id,
    string? DisplayName,
    MembershipKind Kind = MembershipKind.Group,
    bool IsRoleAssignable = false,
    bool IsDynamic = false,
    bool OnPremisesSynced = false);

/// <summary>A registered authentication method (for MFA recovery).</summary>
public sealed record AuthenticationMethod(string Id, string Kind);
