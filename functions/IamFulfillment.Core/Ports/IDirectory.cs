using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Core.Ports;

/// <summary>Which directory attribute a person from a ticket is matched on.</summary>
public enum PersonKey
{
    Email,
    EmployeeId,

    /// <summary>A configured directory attribute that holds the Atlassian account id.</summary>
    AtlassianAccountId,

    /// <summary>The directory object id itself (people already resolved).</summary>
    ObjectId,
}

public enum MembershipScope
{
    /// <summary>Direct memberships only (what can be removed).</summary>
    Direct,

    /// <summary>Direct and nested memberships (what the person effectively holds).</summary>
    Transitive,
}

/// <summary>The directory (Entra ID) as the core needs it. Every change is idempotent.</summary>
public interface IDirectory
{
    /// <summary>Users whose <paramref name="key"/> attribute equals <paramref name="value"/> exactly, with their manager.</summary>
    Task<IReadOnlyList<DirectoryUser>> FindUsersAsync(PersonKey key, string value, CancellationToken cancellationToken);

    /// <summary>Groups and directory roles the user is a member of: directly only, or also through nesting.</summary>
    Task<IReadOnlyList<Membership>> GetMembershipsAsync(string userId, MembershipScope scope, CancellationToken cancellationToken);

    /// <summary>The group's properties and the groups it is nested in; null when it does not exist.</summary>
    Task<DirectoryGroup?> GetGroupAsync(string groupId, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuthenticationMethod>> GetAuthenticationMethodsAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Applies one operation; "already a member" and "not a member" answers are <see cref="ChangeStatus.NoOp"/>.</summary>
    Task<ChangeResult> ApplyAsync(DirectoryOperation operation, CancellationToken cancellationToken);
}

/// <summary>A connector failure that may go away on retry (throttling, 5xx, timeouts), with the wait the server asked for.</summary>
public class TransientConnectorException(string system, int? status, string message, TimeSpan? retryAfter = null, string? requestId = null, Exception? inner = null)
    : ConnectorException(system, status, message, requestId, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>A connector failure: which system, which status, which request id — never the raw response body.</summary>
public class ConnectorException(string system, int? status, string message, string? requestId = null, Exception? inner = null)
    : Exception($"{system}: {message}" + (status is { } s ? $" (HTTP {s})" : "") + (requestId is null ? "" : $" [request {requestId}]"), inner)
{
    public string System { get; } = system;
    public int? Status { get; } = status;
    public string? RequestId { get; } = requestId;
}
