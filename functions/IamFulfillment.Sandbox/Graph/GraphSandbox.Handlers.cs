using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IamFulfillment.Sandbox.Graph;

/// <summary>The Graph endpoints the sandbox answers, each with Graph's status codes and error codes.</summary>
public sealed partial class GraphSandbox
{
    private const string OnPremisesMastered =
        "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";

    private const string InsufficientPrivileges = "Insufficient privileges to complete the operation.";
    private const string AlreadyExists = "One or more added object references already exist for the following modified properties: 'members'.";

    /// <summary>User properties Graph filters only in advanced queries (ConsistencyLevel: eventual and $count=true).</summary>
    private static readonly HashSet<string> AdvancedOnlyUserProperties = new(StringComparer.OrdinalIgnoreCase)
    {
        "employeeType", "companyName", "officeLocation", "mobilePhone", "onPremisesSamAccountName", "onPremisesImmutableId",
    };

    private static readonly JsonNodeOptions CaseInsensitive = new() { PropertyNameCaseInsensitive = true };

    private static readonly string[] DefaultUserProperties =
        ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"];

    private static readonly string[] DefaultGroupProperties =
        ["id", "displayName", "description", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "securityEnabled", "onPremisesSyncEnabled"];

    private Reply Handle(Call call, CallContext context)
    {
        var s = call.Segments;
        lock (_gate)
        {
            try
            {
                return (call.Method, s.Length > 0 ? s[0] : "") switch
                {
                    (_, "users") => HandleUsers(call, s, context),
                    (_, "groups") => HandleGroups(call, s, context),
                    ("GET", "directoryObjects") when s.Length == 2 => GetDirectoryObject(s[1], context),
                    _ => UnknownSegment(s, context),
                };
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                // A JSON value of the wrong type, e.g. "lifetimeInMinutes": "ten".
                return Error(context, 400, "BadRequest", "Invalid request payload: " + ex.Message);
            }
        }
    }

    private static Reply UnknownSegment(string[] s, CallContext context) =>
        Error(context, 400, "BadRequest", $"Resource not found for the segment '{(s.Length > 0 ? s[^1] : "")}'.");

    private static Reply NotFound(CallContext context, string id) =>
        Error(context, 404, "Request_ResourceNotFound", $"Resource '{id}' does not exist or one of its queried reference-property objects are not present.");

    private Reply HandleUsers(Call call, string[] s, CallContext context)
    {
        if (s.Length == 1)
        {
            return call.Method == "GET" ? ListUsers(call, context) : UnknownSegment(s, context);
        }

        var user = FindUser(s[1]);
        if (user is null)
        {
            return NotFound(context, s[1]);
        }

        return (call.Method, s.Length, s.Length > 2 ? s[2] : "") switch
        {
            ("GET", 2, _) => GetUser(call, user, context),
            ("PATCH", 2, _) => PatchUser(call, user, context),
            ("GET", 3, "manager") => GetManager(call, user, context),
            ("GET", 3, "memberOf") => ListMemberOf(call, user.Id, transitive: false, context),
            ("GET", 3, "transitiveMemberOf") => ListMemberOf(call, user.Id, transitive: true, context),
            ("POST", 3, "revokeSignInSessions") => RevokeSessions(user, context),
            ("POST", 3, "sendMail") => SendMail(call, user, context),
            (_, >= 4, "authentication") => HandleAuthentication(call, s, user, context),
            _ => UnknownSegment(s, context),
        };
    }

    private Reply HandleGroups(Call call, string[] s, CallContext context)
    {
        if (s.Length < 2)
        {
            return UnknownSegment(s, context);
        }

        if (!_groups.TryGetValue(s[1], out var group))
        {
            return NotFound(context, s[1]);
        }

        return (call.Method, s.Length, s.Length > 2 ? s[2] : "", s[^1]) switch
        {
            ("GET", 2, _, _) => GetGroup(call, group, context),
            ("GET", 3, "members", _) => ListMembers(call, group, context),
            ("GET", 3, "memberOf", _) => ListMemberOf(call, group.Id, transitive: false, context),
            ("GET", 3, "transitiveMemberOf", _) => ListMemberOf(call, group.Id, transitive: true, context),
            ("POST", 4, "members", "$ref") => AddMemberRef(call, group, context),
            ("DELETE", 5, "members", "$ref") => RemoveMemberRef(group, s[3], context),

            // Without /$ref this would delete the member object itself; an app without that right gets 403.
            ("DELETE", 4, "members", _) => Error(context, 403, "Authorization_RequestDenied", InsufficientPrivileges),
            _ => UnknownSegment(s, context),
        };
    }

    // ---------------------------------------------------------------- users

    private Reply ListUsers(Call call, CallContext context)
    {
        var p = call.Parameters;
        var advanced = string.Equals(call.Headers.GetValueOrDefault("ConsistencyLevel"), "eventual", StringComparison.OrdinalIgnoreCase)
            && string.Equals(p.GetValueOrDefault("$count"), "true", StringComparison.OrdinalIgnoreCase);
        var top = 100;
        if (p.TryGetValue("$top", out var topText) && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > 999))
        {
            return Error(context, 400, "Request_BadRequest", $"Invalid page size specified: '{topText}'. Must be between 1 and 999 inclusive.");
        }

        IEnumerable<SandboxUser> matches = _users.Values;
        if (p.TryGetValue("$filter", out var filterText))
        {
            ODataFilter filter;
            try
            {
                filter = ODataFilter.Parse(filterText);
            }
            catch (ODataFilterUnsupportedException ex)
            {
                return Error(context, 400, "Request_UnsupportedQuery", ex.Message);
            }
            catch (ODataFilterException ex)
            {
                return Error(context, 400, "BadRequest", "Invalid filter clause: " + ex.Message);
            }

            foreach (var comparison in filter.Comparisons())
            {
                if (!IsKnownUserProperty(comparison.Path))
                {
                    return Error(context, 400, "Request_BadRequest", $"Could not find a property named '{comparison.Path}' on type 'microsoft.graph.user'.");
                }

                if (!advanced && (NeedsAdvancedQuery(comparison.Path) || comparison.Operator == "ne"))
                {
                    return Error(context, 400, "Request_UnsupportedQuery",
                        $"Unsupported or invalid query filter clause specified for property '{comparison.Path.Split('/')[^1]}' of resource 'User'.");
                }
            }

            var properties = new Dictionary<string, Func<SandboxUser, object?>>(StringComparer.Ordinal);
            foreach (var comparison in filter.Comparisons())
            {
                properties.TryAdd(comparison.Path, UserProperty(comparison.Path));
            }

            matches = matches.Where(u => filter.Evaluate(path => properties[path](u)));
        }

        if (advanced && p.ContainsKey("$expand"))
        {
            return Error(context, 400, "Request_UnsupportedQuery", "$expand is not supported with advanced queries (ConsistencyLevel: eventual).");
        }

        var list = matches.ToList();
        var values = new JsonArray();
        foreach (var user in list.Take(top))
        {
            if (UserJson(user, p, context, out var json) is { } error)
            {
                return error;
            }

            values.Add(json);
        }

        var body = new JsonObject { ["@odata.context"] = $"{BaseUrl}/$metadata#users" };
        if (advanced)
        {
            body["@odata.count"] = list.Count;
        }

        body["value"] = values;
        return new Reply(200, body);
    }

    private Reply GetUser(Call call, SandboxUser user, CallContext context)
    {
        if (UserJson(user, call.Parameters, context, out var json) is { } error)
        {
            return error;
        }

        json!["@odata.context"] = $"{BaseUrl}/$metadata#users/$entity";
        return new Reply(200, json);
    }

    private Reply GetManager(Call call, SandboxUser user, CallContext context)
    {
        if (user.ManagerId is null || FindUser(user.ManagerId) is not { } manager)
        {
            return NotFound(context, "manager");
        }

        var select = SelectList(call.Parameters.GetValueOrDefault("$select"));
        if (Project(manager, select ?? DefaultUserProperties, context, out var json) is { } error)
        {
            return error;
        }

        json!["@odata.type"] = "#microsoft.graph.user";
        return new Reply(200, json);
    }

    /// <summary>Builds a user's JSON per <c>$select</c> and <c>$expand=manager(...)</c>; returns an error reply for bad options.</summary>
    private Reply? UserJson(SandboxUser user, IReadOnlyDictionary<string, string> p, CallContext context, out JsonObject? json)
    {
        var select = SelectList(p.GetValueOrDefault("$select"));
        if (Project(user, select ?? DefaultUserProperties, context, out json) is { } error)
        {
            return error;
        }

        if (!p.TryGetValue("$expand", out var expand))
        {
            return null;
        }

        expand = expand.Trim();
        string[]? managerSelect = null;
        if (expand.StartsWith("manager(", StringComparison.OrdinalIgnoreCase) && expand.EndsWith(')'))
        {
            var options = expand["manager(".Length..^1];
            if (!options.StartsWith("$select=", StringComparison.OrdinalIgnoreCase))
            {
                return Error(context, 400, "BadRequest", $"Unsupported expand options '{options}'.");
            }

            managerSelect = SelectList(options["$select=".Length..]);
        }
        else if (!string.Equals(expand, "manager", StringComparison.OrdinalIgnoreCase))
        {
            return Error(context, 400, "BadRequest", $"Could not find a navigation property named '{expand}' on type 'microsoft.graph.user'.");
        }

        if (user.ManagerId is not null && FindUser(user.ManagerId) is { } manager)
        {
            if (Project(manager, managerSelect ?? DefaultUserProperties, context, out var managerJson) is { } managerError)
            {
                return managerError;
            }

            managerJson!["@odata.type"] = "#microsoft.graph.user";
            json!["manager"] = managerJson;
        }

        return null;
    }

    private static string[]? SelectList(string? select) =>
        string.IsNullOrWhiteSpace(select) ? null : select.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Reply? Project(SandboxUser user, IEnumerable<string> properties, CallContext context, out JsonObject? json)
    {
        json = new JsonObject();
        foreach (var property in properties)
        {
            if (!IsKnownUserProperty(property) && !string.Equals(property, "onPremisesExtensionAttributes", StringComparison.OrdinalIgnoreCase))
            {
                json = null;
                return Error(context, 400, "Request_BadRequest", $"Could not find a property named '{property}' on type 'microsoft.graph.user'.");
            }

            if (string.Equals(property, "onPremisesExtensionAttributes", StringComparison.OrdinalIgnoreCase))
            {
                var attributes = new JsonObject();
                for (var i = 1; i <= 15; i++)
                {
                    var name = "extensionAttribute" + i.ToString(CultureInfo.InvariantCulture);
                    attributes[name] = user.OnPremisesExtensionAttributes.GetValueOrDefault(name);
                }

                json["onPremisesExtensionAttributes"] = attributes;
            }
            else if (property.StartsWith("extension_", StringComparison.OrdinalIgnoreCase))
            {
                if (user.Extensions.TryGetValue(property, out var value) && value is not null)
                {
                    json[property] = value;
                }
            }
            else if (string.Equals(property, "businessPhones", StringComparison.OrdinalIgnoreCase))
            {
                json["businessPhones"] = new JsonArray();
            }
            else
            {
                json[CanonicalUserProperty(property)] = JsonValue(UserValue(user, property));
            }
        }

        return null;
    }

    private static JsonNode? JsonValue(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static readonly string[] PlainUserProperties =
    [
        "id", "userPrincipalName", "displayName", "mail", "employeeId", "employeeType", "userType", "accountEnabled",
        "department", "jobTitle", "onPremisesSyncEnabled", "givenName", "surname", "mobilePhone", "officeLocation",
        "preferredLanguage", "companyName", "onPremisesSamAccountName", "onPremisesImmutableId",
    ];

    // A $filter is evaluated against every user, so the name lookup is a hash, not a scan of the list.
    private static readonly FrozenDictionary<string, string> CanonicalUserProperties =
        PlainUserProperties.ToFrozenDictionary(p => p, StringComparer.OrdinalIgnoreCase);

    private static string CanonicalUserProperty(string name) => CanonicalUserProperties.GetValueOrDefault(name) ?? name;

    private static bool IsKnownUserProperty(string path) =>
        PlainUserProperties.Contains(path, StringComparer.OrdinalIgnoreCase)
        || string.Equals(path, "businessPhones", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("extension_", StringComparison.OrdinalIgnoreCase)
        || ExtensionAttributeName(path) is not null;

    private static bool NeedsAdvancedQuery(string path) =>
        AdvancedOnlyUserProperties.Contains(path)
        || path.StartsWith("extension_", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("onPremisesExtensionAttributes/", StringComparison.OrdinalIgnoreCase);

    /// <summary>"onPremisesExtensionAttributes/extensionAttribute5" → "extensionAttribute5"; null for other paths.</summary>
    private static string? ExtensionAttributeName(string path)
    {
        const string prefix = "onPremisesExtensionAttributes/extensionAttribute";
        return path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            && int.TryParse(path[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 15
            ? "extensionAttribute" + n.ToString(CultureInfo.InvariantCulture)
            : null;
    }

    private static object? UserValue(SandboxUser u, string path) => UserProperty(path)(u);

    /// <summary>How to read a property path of a user, worked out once per query rather than once per user.</summary>
    private static Func<SandboxUser, object?> UserProperty(string path)
    {
        if (ExtensionAttributeName(path) is { } attribute)
        {
            return u => u.OnPremisesExtensionAttributes.GetValueOrDefault(attribute);
        }

        if (path.StartsWith("extension_", StringComparison.OrdinalIgnoreCase))
        {
            return u => u.Extensions.GetValueOrDefault(path);
        }

        return CanonicalUserProperty(path) switch
        {
            "id" => u => u.Id,
            "userPrincipalName" => u => u.UserPrincipalName,
            "displayName" => u => u.DisplayName,
            "mail" => u => u.Mail,
            "employeeId" => u => u.EmployeeId,
            "employeeType" => u => u.EmployeeType,
            "userType" => u => u.UserType,
            "accountEnabled" => u => u.AccountEnabled,
            "department" => u => u.Department,
            "jobTitle" => u => u.JobTitle,
            "onPremisesSyncEnabled" => u => u.OnPremisesSyncEnabled,
            _ => _ => null,
        };
    }

    private Reply PatchUser(Call call, SandboxUser user, CallContext context)
    {
        if (ParseBody(call, context, out var body) is { } error)
        {
            return error;
        }

        foreach (var (name, value) in body!)
        {
            switch (name)
            {
                case var annotation when annotation.StartsWith('@'):
                    break; // "@odata.type", as the SDK sends it
                case "accountEnabled":
                    if (value is not JsonValue v || !v.TryGetValue<bool>(out var enabled))
                    {
                        return Error(context, 400, "Request_BadRequest", "Invalid value for property 'accountEnabled'.");
                    }

                    if (user.OnPremisesSyncEnabled == true)
                    {
                        return Error(context, 400, "Request_BadRequest", OnPremisesMastered);
                    }

                    if (HoldsDirectoryRole(user.Id))
                    {
                        // An app without a privileged role may not change sign-in of administrators.
                        return Error(context, 403, "Authorization_RequestDenied", InsufficientPrivileges);
                    }

                    if (user.AccountEnabled != enabled)
                    {
                        user.AccountEnabled = enabled;
                        if (enabled)
                        {
                            _accountsEnabled++;
                        }
                        else
                        {
                            _accountsDisabled++;
                        }
                    }

                    break;
                case "department":
                    user.Department = value?.GetValue<string>();
                    break;
                case "jobTitle":
                    user.JobTitle = value?.GetValue<string>();
                    break;
                default:
                    return Error(context, 400, "Request_BadRequest", $"Property '{name}' is not supported by the sandbox for update.");
            }
        }

        return new Reply(204);
    }

    private Reply RevokeSessions(SandboxUser user, CallContext context)
    {
        user.SessionRevocations++;
        _sessionRevocations++;
        return new Reply(200, new JsonObject { ["@odata.context"] = $"{BaseUrl}/$metadata#Edm.Boolean", ["value"] = true });
    }

    private Reply SendMail(Call call, SandboxUser sender, CallContext context)
    {
        if (sender.Mail is null)
        {
            return Error(context, 404, "ErrorInvalidUser", $"The requested user '{sender.UserPrincipalName}' is invalid.");
        }

        if (ParseBody(call, context, out var body) is { } error)
        {
            return error;
        }

        var message = body!["message"] as JsonObject;
        var to = (message?["toRecipients"] as JsonArray)?
            .Select(r => r?["emailAddress"]?["address"]?.GetValue<string>())
            .OfType<string>()
            .ToList() ?? [];
        if (message is null || to.Count == 0)
        {
            return Error(context, 400, "ErrorInvalidRecipients", "At least one recipient is not valid.");
        }

        _outbox.Add(new SandboxMail(
            sender.Id,
            to,
            message["subject"]?.GetValue<string>() ?? "",
            message["body"]?["content"]?.GetValue<string>() ?? "",
            message["body"]?["contentType"]?.GetValue<string>() ?? "text",
            body["saveToSentItems"]?.GetValue<bool>() ?? true,
            context.Now));
        _mailsSent++;
        return new Reply(202);
    }

    // ---------------------------------------------------------------- memberships

    private Reply ListMemberOf(Call call, string memberId, bool transitive, CallContext context)
    {
        var containers = transitive ? TransitiveContainers(memberId) : DirectContainers(memberId);
        var select = SelectList(call.Parameters.GetValueOrDefault("$select"));
        var items = containers.Select(id => DirectoryObjectJson(id, select)).ToList();
        return Page(call, items, context);
    }

    private Reply ListMembers(Call call, SandboxGroup group, CallContext context)
    {
        var select = SelectList(call.Parameters.GetValueOrDefault("$select"));
        var items = _members[group.Id].Select(id => DirectoryObjectJson(id, select)).ToList();
        return Page(call, items, context);
    }

    private Reply Page(Call call, List<JsonObject> items, CallContext context)
    {
        var p = call.Parameters;
        var top = 100;
        if (p.TryGetValue("$top", out var topText) && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > 999))
        {
            return Error(context, 400, "Request_BadRequest", $"Invalid page size specified: '{topText}'. Must be between 1 and 999 inclusive.");
        }

        var offset = 0;
        if (p.TryGetValue("$skiptoken", out var token) && !TryReadSkipToken(token, out offset))
        {
            return Error(context, 400, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.");
        }

        var size = Math.Min(top, _options.PageSize);
        var body = new JsonObject
        {
            ["@odata.context"] = $"{BaseUrl}/$metadata#directoryObjects",
            ["value"] = new JsonArray([.. items.Skip(offset).Take(size)]),
        };
        if (offset + size < items.Count)
        {
            var query = string.Join("&", p.Where(kv => !string.Equals(kv.Key, "$skiptoken", StringComparison.OrdinalIgnoreCase))
                .Select(kv => Uri.EscapeDataString(kv.Key) + "=" + Uri.EscapeDataString(kv.Value))
                .Append("$skiptoken=" + SkipToken(offset + size)));
            body["@odata.nextLink"] = $"{BaseUrl}{call.Path}?{query}";
        }

        return new Reply(200, body);
    }

    private static string SkipToken(int offset) =>
        "RFNwdAIAAQAAA" + Convert.ToHexString(Encoding.UTF8.GetBytes(offset.ToString(CultureInfo.InvariantCulture)));

    private static bool TryReadSkipToken(string token, out int offset)
    {
        offset = 0;
        const string prefix = "RFNwdAIAAQAAA";
        if (!token.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromHexString(token[prefix.Length..]));
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private List<string> DirectContainers(string memberId) =>
        [.. _containerOrder.Where(c => _members[c].Contains(memberId))];

    /// <summary>Containers holding the object directly or through nested groups (roles and units too, like Graph).</summary>
    private List<string> TransitiveContainers(string memberId)
    {
        var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var frontier = new Queue<string>([memberId]);
        while (frontier.TryDequeue(out var current))
        {
            foreach (var container in DirectContainers(current))
            {
                if (found.Add(container) && _groups.ContainsKey(container))
                {
                    frontier.Enqueue(container);
                }
            }
        }

        return [.. _containerOrder.Where(found.Contains)];
    }

    private bool HoldsDirectoryRole(string userId) => TransitiveContainers(userId).Any(_roles.ContainsKey);

    private JsonObject DirectoryObjectJson(string id, string[]? select)
    {
        JsonObject all;
        if (_groups.TryGetValue(id, out var group))
        {
            all = GroupJson(group, null);
            all["@odata.type"] = "#microsoft.graph.group";
        }
        else if (_roles.TryGetValue(id, out var role))
        {
            all = new JsonObject
            {
                ["@odata.type"] = "#microsoft.graph.directoryRole",
                ["id"] = role.Id,
                ["displayName"] = role.DisplayName,
                ["description"] = null,
                ["roleTemplateId"] = role.RoleTemplateId,
            };
        }
        else if (_units.TryGetValue(id, out var unit))
        {
            all = new JsonObject
            {
                ["@odata.type"] = "#microsoft.graph.administrativeUnit",
                ["id"] = unit.Id,
                ["displayName"] = unit.DisplayName,
                ["description"] = null,
            };
        }
        else if (_users.TryGetValue(id, out var user))
        {
            Project(user, DefaultUserProperties, new CallContext("", null, default, false), out var userJson);
            all = userJson!;
            all["@odata.type"] = "#microsoft.graph.user";
        }
        else
        {
            all = new JsonObject { ["@odata.type"] = "#microsoft.graph.directoryObject", ["id"] = id };
        }

        if (select is null)
        {
            return all;
        }

        // Graph returns the selected properties each type has; the type annotation always comes along.
        var projected = new JsonObject { ["@odata.type"] = all["@odata.type"]!.DeepClone() };
        foreach (var property in select)
        {
            if (all.FirstOrDefault(kv => string.Equals(kv.Key, property, StringComparison.OrdinalIgnoreCase)) is { Key: not null } match)
            {
                projected[match.Key] = match.Value?.DeepClone();
            }
        }

        return projected;
    }

    // ---------------------------------------------------------------- groups

    private Reply GetGroup(Call call, SandboxGroup group, CallContext context)
    {
        var json = GroupJson(group, SelectList(call.Parameters.GetValueOrDefault("$select")));
        json["@odata.context"] = $"{BaseUrl}/$metadata#groups/$entity";
        return new Reply(200, json);
    }

    private static JsonObject GroupJson(SandboxGroup group, string[]? select)
    {
        var all = new JsonObject
        {
            ["id"] = group.Id,
            ["displayName"] = group.DisplayName,
            ["description"] = null,
            ["groupTypes"] = new JsonArray([.. group.GroupTypes.Select(t => (JsonNode)t)]),
            ["isAssignableToRole"] = group.IsAssignableToRole,
            ["mail"] = null,
            ["mailEnabled"] = group.MailEnabled,
            ["securityEnabled"] = group.SecurityEnabled,
            ["onPremisesSyncEnabled"] = group.OnPremisesSyncEnabled,
        };
        var wanted = select ?? DefaultGroupProperties;
        var json = new JsonObject();
        foreach (var property in wanted)
        {
            if (all.FirstOrDefault(kv => string.Equals(kv.Key, property, StringComparison.OrdinalIgnoreCase)) is { Key: not null } match)
            {
                json[match.Key] = match.Value?.DeepClone();
            }
        }

        return json;
    }

    private Reply AddMemberRef(Call call, SandboxGroup group, CallContext context)
    {
        if (ParseBody(call, context, out var body) is { } error)
        {
            return error;
        }

        var reference = body!["@odata.id"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
        if (reference is null || !Uri.TryCreate(reference, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            return Error(context, 400, "Request_BadRequest", "Invalid URL format specified in @odata.id for members.");
        }

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 2 || segments[^2] is not ("directoryObjects" or "users" or "groups"))
        {
            return Error(context, 400, "Request_BadRequest", "Invalid URL format specified in @odata.id for members.");
        }

        var memberId = Uri.UnescapeDataString(segments[^1]);
        if (!_users.ContainsKey(memberId) && !_groups.ContainsKey(memberId))
        {
            return NotFound(context, memberId);
        }

        if (MembershipChangeRefused(group, context) is { } refused)
        {
            return refused;
        }

        if (!_members[group.Id].Add(memberId))
        {
            return Error(context, 400, "Request_BadRequest", AlreadyExists);
        }

        _membershipsAdded++;
        return new Reply(204);
    }

    private Reply RemoveMemberRef(SandboxGroup group, string memberId, CallContext context)
    {
        if (MembershipChangeRefused(group, context) is { } refused)
        {
            return refused;
        }

        if (!_members[group.Id].Remove(memberId))
        {
            return NotFound(context, memberId);
        }

        _membershipsRemoved++;
        return new Reply(204);
    }

    /// <summary>Groups whose members the service's app cannot change.</summary>
    private static Reply? MembershipChangeRefused(SandboxGroup group, CallContext context)
    {
        if (group.IsAssignableToRole)
        {
            // Needs RoleManagement.ReadWrite.Directory, which the service never holds.
            return Error(context, 403, "Authorization_RequestDenied", InsufficientPrivileges);
        }

        if (group.IsDynamic)
        {
            return Error(context, 400, "Request_BadRequest", "Cannot add or remove members of a group with dynamic membership.");
        }

        return group.OnPremisesSyncEnabled == true ? Error(context, 400, "Request_BadRequest", OnPremisesMastered) : null;
    }

    private Reply GetDirectoryObject(string id, CallContext context)
    {
        if (!_users.ContainsKey(id) && !_members.ContainsKey(id))
        {
            return NotFound(context, id);
        }

        return new Reply(200, DirectoryObjectJson(id, null));
    }

    // ---------------------------------------------------------------- authentication methods

    private Reply HandleAuthentication(Call call, string[] s, SandboxUser user, CallContext context)
    {
        var methods = _methods[user.Id];
        if (s[3] == "methods")
        {
            return (call.Method, s.Length) switch
            {
                ("GET", 4) => new Reply(200, new JsonObject
                {
                    ["@odata.context"] = $"{BaseUrl}/$metadata#users('{user.Id}')/authentication/methods",
                    ["value"] = new JsonArray([.. methods.Select(MethodJson)]),
                }),
                ("GET", 5) when methods.FirstOrDefault(m => m.Id == s[4]) is { } method => new Reply(200, MethodJson(method)),
                ("GET", 5) => MethodNotFound(context),
                _ => UnknownSegment(s, context),
            };
        }

        if (!SandboxMethodTypes.SegmentToType.TryGetValue(s[3], out var type))
        {
            return UnknownSegment(s, context);
        }

        switch (call.Method, s.Length)
        {
            case ("GET", 4):
                return new Reply(200, new JsonObject { ["value"] = new JsonArray([.. methods.Where(m => m.Type == type).Select(MethodJson)]) });
            case ("POST", 4) when type == SandboxMethodTypes.TemporaryAccessPass:
                return IssueTap(call, user, context);
            case ("DELETE", 5):
                if (type == SandboxMethodTypes.Password)
                {
                    return Error(context, 400, "badRequest", "The password method cannot be deleted.");
                }

                var index = methods.FindIndex(m => m.Id == s[4] && m.Type == type);
                if (index < 0)
                {
                    return MethodNotFound(context);
                }

                methods.RemoveAt(index);
                _methodsRemoved++;
                return new Reply(204);
            default:
                return UnknownSegment(s, context);
        }
    }

    private static Reply MethodNotFound(CallContext context) => Error(context, 404, "itemNotFound", "The authentication method was not found.");

    private static JsonObject MethodJson(SandboxAuthMethod method)
    {
        var json = new JsonObject { ["@odata.type"] = "#microsoft.graph." + method.Type, ["id"] = method.Id };
        if (method.DisplayName is not null)
        {
            json["displayName"] = method.DisplayName;
        }

        return json;
    }

    private Reply IssueTap(Call call, SandboxUser user, CallContext context)
    {
        if (ParseBody(call, context, out var body) is { } error)
        {
            return error;
        }

        var lifetime = body!["lifetimeInMinutes"]?.GetValue<int>() ?? 60;
        if (lifetime is < 10 or > 43200)
        {
            return Error(context, 400, "badRequest", "lifetimeInMinutes must be between 10 and 43200 and within the Temporary Access Pass policy.");
        }

        var usableOnce = body["isUsableOnce"]?.GetValue<bool>() ?? false;
        var methods = _methods[user.Id];
        methods.RemoveAll(m => m.Type == SandboxMethodTypes.TemporaryAccessPass); // a user has at most one pass
        var tap = new SandboxTap(Guid.NewGuid().ToString(), user.Id, NewPass(), context.Now, lifetime, usableOnce);
        methods.Add(new SandboxAuthMethod(tap.Id, SandboxMethodTypes.TemporaryAccessPass));
        _taps.Add(tap);
        _tapsIssued++;
        return new Reply(201, new JsonObject
        {
            ["@odata.context"] = $"{BaseUrl}/$metadata#users('{user.Id}')/authentication/temporaryAccessPassMethods/$entity",
            ["@odata.type"] = "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            ["id"] = tap.Id,
            ["temporaryAccessPass"] = tap.Pass,
            ["createdDateTime"] = context.Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["startDateTime"] = context.Now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["lifetimeInMinutes"] = lifetime,
            ["isUsableOnce"] = usableOnce,
            ["isUsable"] = true,
            ["methodUsabilityReason"] = "EnabledByPolicy",
        });
    }

    private static string NewPass()
    {
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&*+-=?@";
        return RandomNumberGenerator.GetString(alphabet, 12);
    }

    // ---------------------------------------------------------------- helpers

    private SandboxUser? FindUser(string idOrUpn) =>
        _users.GetValueOrDefault(idOrUpn)
        ?? _users.Values.FirstOrDefault(u => string.Equals(u.UserPrincipalName, idOrUpn, StringComparison.OrdinalIgnoreCase));

    private static Reply? ParseBody(Call call, CallContext context, out JsonObject? body)
    {
        body = null;
        try
        {
            // Property names are case-insensitive, as Graph's are: the SDK sends sendMail's "Message" and "SaveToSentItems".
            body = string.IsNullOrWhiteSpace(call.Body) ? new JsonObject() : JsonNode.Parse(call.Body, CaseInsensitive) as JsonObject;
        }
        catch (JsonException)
        {
        }

        return body is null ? Error(context, 400, "BadRequest", "Unable to read JSON request payload.") : null;
    }
}
