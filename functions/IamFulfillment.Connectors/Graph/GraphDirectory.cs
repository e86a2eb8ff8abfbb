using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using GraphAuthenticationMethod = Microsoft.Graph.Models.AuthenticationMethod;

namespace IamFulfillment.Connectors.Graph;

/// <summary>
/// <see cref="IDirectory"/> on Microsoft Graph v1.0. Reads resolve people and what they hold; changes are
/// idempotent (Graph's "already a member" and "not a member" answers are no-ops) and report Graph's request id.
/// Logs carry directory object ids and step ids only: never a token, a pass, a name or an address.
/// </summary>
public sealed partial class GraphDirectory : IDirectory
{
    private const int MaxLookupMatches = 5;
    private const int MaxPages = 200;

    private static readonly string[] UserProperties =
        ["id", "userPrincipalName", "displayName", "mail", "employeeId", "employeeType", "userType", "accountEnabled", "department", "jobTitle", "onPremisesSyncEnabled"];

    private static readonly string[] ManagerProperties = ["id", "displayName", "userPrincipalName", "mail", "accountEnabled"];
    private static readonly string[] ExpandManager = [$"manager($select={string.Join(',', ManagerProperties)})"];
    private static readonly string[] MembershipProperties = ["id", "displayName", "isAssignableToRole", "groupTypes", "onPremisesSyncEnabled"];

    /// <summary>User properties Graph filters only in advanced queries (ConsistencyLevel: eventual plus $count), which cannot $expand.</summary>
    private static readonly HashSet<string> AdvancedQueryProperties = new(StringComparer.OrdinalIgnoreCase)
    {
        "employeeType", "companyName", "officeLocation", "mobilePhone", "postalCode", "streetAddress", "preferredLanguage",
        "onPremisesSamAccountName", "onPremisesImmutableId", "employeeHireDate", "showInAddressList", "passwordPolicies",
    };

    private readonly GraphServiceClient _client;
    private readonly GraphOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<GraphDirectory> _logger;
    private readonly string _directoryObjectsUrl;

    public GraphDirectory(IHttpClientFactory httpClientFactory, IOptions<GraphOptions> options, TimeProvider time, ILogger<GraphDirectory> logger)
    {
        _options = options.Value;
        _client = GraphClientBuilder.Create(httpClientFactory.CreateClient(GraphClientBuilder.HttpClientName), _options);
        _time = time;
        _logger = logger;

        // Graph wants an absolute reference to the member, in its own cloud: https://graph.microsoft.com/v1.0/directoryObjects/{id}.
        _directoryObjectsUrl = _options.BaseUrl.TrimEnd('/') + "/directoryObjects/";
    }

    // ------------------------------------------------------------------ reads

    public async Task<IReadOnlyList<DirectoryUser>> FindUsersAsync(PersonKey key, string value, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 256 || value.Any(char.IsControl))
        {
            return []; // nothing in the directory matches such a value, and it never reaches a query
        }

        if (key == PersonKey.ObjectId)
        {
            return Guid.TryParse(value, out _) ? await GetUserByIdAsync(value, cancellationToken) : [];
        }

        var literal = "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
        var attribute = key switch
        {
            PersonKey.Email => null,
            PersonKey.EmployeeId => "employeeId",
            PersonKey.AtlassianAccountId => string.IsNullOrWhiteSpace(_options.AtlassianAccountIdAttribute)
                ? throw new ConnectorException(GraphErrors.System, null,
                    "Graph:AtlassianAccountIdAttribute is not configured, so a Jira person cannot be matched by Atlassian account id. "
                    + "Set it to the user attribute that holds the id (e.g. onPremisesExtensionAttributes/extensionAttribute5).")
                : _options.AtlassianAccountIdAttribute,
            _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Unknown person key."),
        };
        var filter = attribute is null ? $"mail eq {literal} or userPrincipalName eq {literal}" : $"{attribute} eq {literal}";
        var advanced = attribute is not null && NeedsAdvancedQuery(attribute);

        var page = await ReadAsync("user lookup", () => _client.Users.GetAsync(request =>
        {
            request.QueryParameters.Filter = filter;
            request.QueryParameters.Select = UserProperties;
            request.QueryParameters.Top = MaxLookupMatches;
            if (advanced)
            {
                request.QueryParameters.Count = true;
                request.Headers.Add("ConsistencyLevel", "eventual");
            }
            else
            {
                request.QueryParameters.Expand = ExpandManager;
            }

            request.Options.Add(Call(batchable: true));
        }, cancellationToken));

        var users = page?.Value ?? [];
        if (!advanced)
        {
            return [.. users.Select(u => ToDirectoryUser(u, u.Manager))];
        }

        // Advanced queries cannot $expand, so each match's manager is one more read.
        var managers = await Task.WhenAll(users.Select(u => GetManagerAsync(u.Id!, cancellationToken)));
        return [.. users.Select((u, i) => ToDirectoryUser(u, managers[i]))];
    }

    public async Task<IReadOnlyList<Membership>> GetMembershipsAsync(string userId, MembershipScope scope, CancellationToken cancellationToken)
    {
        RequireObjectId(userId, nameof(userId));
        var what = scope == MembershipScope.Transitive ? "transitive membership read" : "membership read";
        var memberships = new List<Membership>();
        var first = scope == MembershipScope.Transitive
            ? await ReadAsync(what, () => _client.Users[userId].TransitiveMemberOf.GetAsync(MembershipQuery, cancellationToken))
            : await ReadAsync(what, () => _client.Users[userId].MemberOf.GetAsync(MembershipQuery, cancellationToken));
        await ForEachPageAsync(first, what, next => scope == MembershipScope.Transitive
                ? _client.Users[userId].TransitiveMemberOf.WithUrl(next).GetAsync(r => r.Options.Add(Call(batchable: true)), cancellationToken)
                : _client.Users[userId].MemberOf.WithUrl(next).GetAsync(r => r.Options.Add(Call(batchable: true)), cancellationToken),
            page => page.Value,
            item =>
            {
                switch (item)
                {
                    case Group group:
                        memberships.Add(new Membership(group.Id!, group.DisplayName, MembershipKind.Group,
                            group.IsAssignableToRole == true, IsDynamic(group), group.OnPremisesSyncEnabled == true));
                        break;
                    case DirectoryRole role:
                        memberships.Add(new Membership(role.Id!, role.DisplayName, MembershipKind.DirectoryRole));
                        break;

                        // Administrative units and anything else are not access the service grants or removes.
                }
            });
        return memberships;
    }

    public async Task<DirectoryGroup?> GetGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        RequireObjectId(groupId, nameof(groupId));
        var groupTask = ReadOrNotFoundAsync("group read", () => _client.Groups[groupId].GetAsync(request =>
        {
            request.QueryParameters.Select = MembershipProperties;
            request.Options.Add(Call(batchable: true));
        }, cancellationToken));
        var parentsTask = GetParentGroupIdsAsync(groupId, cancellationToken);

        // Both reads run together; wait for both, so neither fails unobserved.
        var both = Task.WhenAll(groupTask, parentsTask);
        try
        {
            await both;
        }
        catch (Exception) when (both.IsFaulted || both.IsCanceled)
        {
            // Each task's own outcome is looked at below.
        }

        var group = await groupTask;
        if (group is null)
        {
            return null;
        }

        var parents = await parentsTask ?? [];
        return new DirectoryGroup
        {
            Id = group.Id!,
            DisplayName = group.DisplayName,
            IsRoleAssignable = group.IsAssignableToRole == true,
            IsDynamic = IsDynamic(group),
            OnPremisesSynced = group.OnPremisesSyncEnabled == true,
            ParentGroupIds = parents,
        };
    }

    public async Task<IReadOnlyList<Core.Model.AuthenticationMethod>> GetAuthenticationMethodsAsync(string userId, CancellationToken cancellationToken)
    {
        RequireObjectId(userId, nameof(userId));
        const string what = "authentication methods read";
        var methods = new List<Core.Model.AuthenticationMethod>();
        var first = await ReadAsync(what, () => _client.Users[userId].Authentication.Methods.GetAsync(r => r.Options.Add(Call(batchable: true)), cancellationToken));
        await ForEachPageAsync(first, what,
            next => _client.Users[userId].Authentication.Methods.WithUrl(next).GetAsync(r => r.Options.Add(Call(batchable: true)), cancellationToken),
            page => page.Value,
            method =>
            {
                if (method.Id is not null)
                {
                    methods.Add(new Core.Model.AuthenticationMethod(method.Id, MethodKind(method)));
                }
            });
        return methods;
    }

    private async Task<IReadOnlyList<DirectoryUser>> GetUserByIdAsync(string id, CancellationToken cancellationToken)
    {
        var user = await ReadOrNotFoundAsync("user read", () => _client.Users[id].GetAsync(request =>
        {
            request.QueryParameters.Select = UserProperties;
            request.QueryParameters.Expand = ExpandManager;
            request.Options.Add(Call(batchable: true));
        }, cancellationToken));
        return user is null ? [] : [ToDirectoryUser(user, user.Manager)];
    }

    private Task<DirectoryObject?> GetManagerAsync(string userId, CancellationToken cancellationToken) =>
        ReadOrNotFoundAsync("manager read", () => _client.Users[userId].Manager.GetAsync(request =>
        {
            request.QueryParameters.Select = ManagerProperties;
            request.Options.Add(Call(batchable: true));
        }, cancellationToken));

    /// <summary>Ids of the groups the group is nested in, directly or not; null when the group does not exist.</summary>
    private async Task<IReadOnlyList<string>?> GetParentGroupIdsAsync(string groupId, CancellationToken cancellationToken)
    {
        const string what = "group nesting read";
        var parents = new List<string>();
        var first = await ReadOrNotFoundAsync(what, () => _client.Groups[groupId].TransitiveMemberOf.GetAsync(request =>
        {
            request.QueryParameters.Select = ["id"];
            request.QueryParameters.Top = 999;
            request.Options.Add(Call(batchable: true));
        }, cancellationToken));
        await ForEachPageAsync(first, what,
            next => _client.Groups[groupId].TransitiveMemberOf.WithUrl(next).GetAsync(r => r.Options.Add(Call(batchable: true)), cancellationToken),
            page => page.Value,
            item =>
            {
                if (item is Group { Id: { } id })
                {
                    parents.Add(id);
                }
            });
        return first is null ? null : parents;
    }

    private static void MembershipQuery(Microsoft.Kiota.Abstractions.RequestConfiguration<Microsoft.Graph.Users.Item.MemberOf.MemberOfRequestBuilder.MemberOfRequestBuilderGetQueryParameters> request)
    {
        request.QueryParameters.Select = MembershipProperties;
        request.QueryParameters.Top = 999;
        request.Options.Add(Call(batchable: true));
    }

    private static void MembershipQuery(Microsoft.Kiota.Abstractions.RequestConfiguration<Microsoft.Graph.Users.Item.TransitiveMemberOf.TransitiveMemberOfRequestBuilder.TransitiveMemberOfRequestBuilderGetQueryParameters> request)
    {
        request.QueryParameters.Select = MembershipProperties;
        request.QueryParameters.Top = 999;
        request.Options.Add(Call(batchable: true));
    }

    /// <summary>Visits every item of a collection, following <c>@odata.nextLink</c>.</summary>
    private async Task ForEachPageAsync<TPage, TItem>(TPage? first, string what, Func<string, Task<TPage?>> next, Func<TPage, IEnumerable<TItem>?> items, Action<TItem> visit)
        where TPage : BaseCollectionPaginationCountResponse
    {
        var page = first;
        for (var pages = 1; page is not null; pages++)
        {
            foreach (var item in items(page) ?? [])
            {
                visit(item);
            }

            if (string.IsNullOrEmpty(page.OdataNextLink))
            {
                return;
            }

            if (pages >= MaxPages)
            {
                throw new ConnectorException(GraphErrors.System, null, $"{what} stopped after {MaxPages} pages.");
            }

            var link = page.OdataNextLink;
            page = await ReadAsync(what, () => next(link));
        }
    }

    /// <summary>Runs a read; failures become <see cref="ConnectorException"/> (transient ones <see cref="TransientConnectorException"/>).</summary>
    private async Task<T> ReadAsync<T>(string what, Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            LogReadFailed(what, failure.Status, failure.Code, failure.RequestId);
            throw GraphErrors.ForRead(failure, what, ex);
        }
    }

    /// <summary>Runs a read where 404 means "there is none".</summary>
    private async Task<T?> ReadOrNotFoundAsync<T>(string what, Func<Task<T?>> read)
        where T : class
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { Status: 404 })
        {
            return null;
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            LogReadFailed(what, failure.Status, failure.Code, failure.RequestId);
            throw GraphErrors.ForRead(failure, what, ex);
        }
    }

    private static DirectoryUser ToDirectoryUser(User user, DirectoryObject? manager) => new()
    {
        Id = user.Id!,
        UserPrincipalName = user.UserPrincipalName ?? "",
        DisplayName = user.DisplayName,
        Mail = user.Mail,
        EmployeeId = user.EmployeeId,
        EmployeeType = user.EmployeeType,
        UserType = user.UserType,
        AccountEnabled = user.AccountEnabled ?? true,
        Department = user.Department,
        JobTitle = user.JobTitle,
        OnPremisesSynced = user.OnPremisesSyncEnabled == true,
        Manager = manager switch
        {
            User m when m.Id is not null => new DirectoryManager(m.Id, m.DisplayName, m.UserPrincipalName, m.Mail, m.AccountEnabled ?? true),
            OrgContact c when c.Id is not null => new DirectoryManager(c.Id, c.DisplayName, null, c.Mail),
            _ => null,
        },
    };

    private static bool IsDynamic(Group group) =>
        group.GroupTypes?.Contains("DynamicMembership", StringComparer.OrdinalIgnoreCase) == true;

    /// <summary>"#microsoft.graph.fido2AuthenticationMethod" → "fido2AuthenticationMethod".</summary>
    private static string MethodKind(GraphAuthenticationMethod method)
    {
        var type = method.OdataType ?? "authenticationMethod";
        var dot = type.LastIndexOf('.');
        return (dot >= 0 ? type[(dot + 1)..] : type).TrimStart('#');
    }

    private static bool NeedsAdvancedQuery(string attribute) =>
        attribute.StartsWith("onPremisesExtensionAttributes/", StringComparison.OrdinalIgnoreCase)
        || attribute.StartsWith("extension_", StringComparison.OrdinalIgnoreCase)
        || AdvancedQueryProperties.Contains(attribute);

    private static GraphCall Call(bool batchable, bool idempotent = true) => new() { Batchable = batchable, Idempotent = idempotent };

    private static bool IsObjectId(string? id) => Guid.TryParse(id, out _);

    private static void RequireObjectId(string id, string name)
    {
        if (!IsObjectId(id))
        {
            throw new ArgumentException("A directory object id (GUID) is required.", name);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Graph {What} failed: HTTP {Status} {Code} [request {RequestId}]")]
    private partial void LogReadFailed(string what, int? status, string? code, string? requestId);
}
