using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using WireMock;

namespace IamFulfillment.Sandbox.Jira;

/// <summary>The REST endpoints and the JSON shapes they answer with.</summary>
public sealed partial class JiraSandbox
{
    private const string IssueNotFound = "Issue does not exist or you do not have permission to see it.";

    private ResponseMessage Route(IRequestMessage request)
    {
        var method = request.Method.ToUpperInvariant();
        var path = request.AbsolutePath;
        var query = QueryHelpers.ParseQuery(request.RawQuery);
        var body = request.Body ?? (request.BodyAsBytes is { } bytes ? Encoding.UTF8.GetString(bytes) : null);

        lock (_gate)
        {
            var user = Authenticate(request);
            if (user is null)
            {
                var unauthorized = Json(401, """{"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}""");
                unauthorized.AddHeader("WWW-Authenticate", "Basic realm=\"protected-area\"");
                return unauthorized;
            }

            if (ServiceDeskRoute().Match(path) is { Success: true } sd)
            {
                var issue = FindIssue(sd.Groups["key"].Value);
                if (issue is null || !CanSee(user, issue))
                {
                    return ServiceDeskError(404, "Request does not exist or you do not have permission to see it.", "sd.request.error.not.found");
                }

                var approvalId = sd.Groups["approval"].Success ? sd.Groups["approval"].Value : null;
                return (sd.Groups["sub"].Value, method) switch
                {
                    ("", "GET") => Json(200, CustomerRequest(issue, user)),
                    ("/approval", "GET") when approvalId is null => Json(200, Page(issue.Approvals.Select(Approval).ToList(), query)),
                    ("/approval", "GET") => issue.Approvals.FirstOrDefault(a => a.Id == approvalId) is { } approval
                        ? Json(200, Approval(approval))
                        : ServiceDeskError(404, "Approval does not exist.", "sd.approval.error.not.found"),
                    ("/approval", "POST") when approvalId is not null => AnswerApproval(issue, approvalId, user, body),
                    ("/comment", "GET") => Json(200, Page(issue.Comments.Where(c => Visible(c, user, query)).Select(Comment).ToList(), query)),
                    ("/comment", "POST") => CreateComment(issue, user, body),
                    _ => ServiceDeskError(405, $"{method} is not supported on this resource.", "sd.error.method.not.allowed"),
                };
            }

            if (SearchRoute().Match(path) is { Success: true } search)
            {
                return method == "GET" ? Search(user, query, search.Groups["v"].Value) : PlatformError(405, $"{method} is not supported on this resource.");
            }

            if (PlatformRoute().Match(path) is { Success: true } api)
            {
                var version = api.Groups["v"].Value;
                if (api.Groups["myself"].Success)
                {
                    return method == "GET" ? Json(200, UserV3(user)) : PlatformError(405, "Method not allowed");
                }

                var issue = FindIssue(api.Groups["key"].Value);
                if (issue is null || !CanSee(user, issue))
                {
                    return PlatformError(404, IssueNotFound);
                }

                return (api.Groups["sub"].Value, method) switch
                {
                    ("", "GET") => Json(200, IssueJson(issue, Values(query, "fields"), Values(query, "expand"), version)),
                    ("", "PUT") => EditIssue(issue, user, body),
                    ("/transitions", "GET") => Json(200, new JsonObject
                    {
                        ["expand"] = "transitions",
                        ["transitions"] = new JsonArray(Available(issue).Select(t => (JsonNode)TransitionJson(t)).ToArray()),
                    }),
                    ("/transitions", "POST") => TransitionIssue(issue, user, body),
                    ("/changelog", "GET") => Json(200, ChangelogPage(issue, query)),
                    _ => PlatformError(405, $"{method} is not supported on this resource."),
                };
            }

            return PlatformError(404, $"null for uri: {Url}{path}");
        }
    }

    private JiraUser? Authenticate(IRequestMessage request)
    {
        var header = Header(request, "Authorization");
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return null;
        }

        var email = decoded[..colon];
        var token = decoded[(colon + 1)..];
        return _users.Values.FirstOrDefault(u => u.Active && u.ApiToken is not null && string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase)
                                                 && string.Equals(u.ApiToken, token, StringComparison.Ordinal));
    }

    private static bool CanSee(JiraUser user, JiraIssue issue) =>
        user.IsAgent || issue.ReporterId == user.AccountId || issue.CreatorId == user.AccountId
        || issue.Approvals.Any(a => a.Approvers.Any(p => p.Key == user.AccountId));

    private static bool Visible(JiraComment comment, JiraUser user, Dictionary<string, StringValues> query)
    {
        var wantPublic = !string.Equals(Value(query, "public"), "false", StringComparison.OrdinalIgnoreCase);
        var wantInternal = !string.Equals(Value(query, "internal"), "false", StringComparison.OrdinalIgnoreCase);
        return comment.Public ? wantPublic : wantInternal && user.IsAgent;
    }

    private ResponseMessage CreateComment(JiraIssue issue, JiraUser user, string? body)
    {
        if (!IsJsonObject(body, out var input) || input!["body"] is not JsonValue text || !text.TryGetValue<string>(out var commentBody) || string.IsNullOrWhiteSpace(commentBody))
        {
            return ServiceDeskError(400, "The comment body must be a non-empty string.", "sd.comment.error.body.empty");
        }

        var isPublic = input["public"] is not JsonValue p || !p.TryGetValue<bool>(out var flag) || flag;
        if (!isPublic && !user.IsAgent)
        {
            return ServiceDeskError(403, "Only agents can add internal comments.", "sd.comment.error.internal.forbidden");
        }

        var comment = AddCommentCore(issue, user.AccountId, commentBody, isPublic, Now());
        return Json(201, Comment(comment));
    }

    private ResponseMessage AnswerApproval(JiraIssue issue, string approvalId, JiraUser user, string? body)
    {
        if (!IsJsonObject(body, out var input) || input!["decision"]?.GetValue<string>() is not ("approve" or "decline") )
        {
            return ServiceDeskError(400, "The decision must be approve or decline.", "sd.approval.error.decision.invalid");
        }

        var approve = input["decision"]!.GetValue<string>() == "approve";
        var error = DecideCore(issue, approvalId, user.AccountId, approve, Now());
        if (error is not null)
        {
            return ServiceDeskError(403, error, "sd.approval.error.not.allowed");
        }

        return Json(200, Approval(issue.Approvals.First(a => a.Id == approvalId)));
    }

    private ResponseMessage EditIssue(JiraIssue issue, JiraUser user, string? body)
    {
        if (!IsJsonObject(body, out var input))
        {
            return PlatformError(400, "The request body must be a JSON object.");
        }

        if (input!["update"] is JsonObject { Count: > 0 })
        {
            return PlatformError(400, "The sandbox supports \"fields\" edits only, not \"update\" operations.");
        }

        var errors = input["fields"] is JsonObject fields ? EditCore(issue, fields, user.AccountId, Now()) : [];
        return errors.Count > 0 ? PlatformError(400, null, errors) : Empty(204);
    }

    private ResponseMessage TransitionIssue(JiraIssue issue, JiraUser user, string? body)
    {
        if (!IsJsonObject(body, out var input) || input!["transition"] is not JsonObject transitionInput)
        {
            return PlatformError(400, "Missing 'transition' identifier");
        }

        var id = transitionInput["id"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<int>(out var n) => n.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };
        var transition = id is null ? null : Available(issue).FirstOrDefault(t => t.Id == id);
        if (transition is null)
        {
            return PlatformError(400, $"Transition id '{id}' is not valid for this issue.");
        }

        if (input["fields"] is JsonObject { Count: > 0 } fields)
        {
            var errors = EditCore(issue, fields, user.AccountId, Now());
            if (errors.Count > 0)
            {
                return PlatformError(400, null, errors);
            }
        }

        ApplyTransition(issue, transition, user.AccountId, Now());
        return Empty(204);
    }

    private JsonObject CustomerRequest(JiraIssue issue, JiraUser viewer)
    {
        var type = _requestTypes[issue.RequestTypeId];
        var status = StatusNamed(issue.Status);
        var values = new JsonArray
        {
            new JsonObject { ["fieldId"] = "summary", ["label"] = "Summary", ["value"] = issue.Summary },
        };
        foreach (var (fieldId, stored) in issue.Fields)
        {
            if (type.HiddenFields.Contains(fieldId) || !_fields.TryGetValue(fieldId, out var definition))
            {
                continue;
            }

            values.Add(new JsonObject { ["fieldId"] = fieldId, ["label"] = definition.Name, ["value"] = FieldJson(definition, stored, "sd") });
        }

        var self = $"{Url}/rest/servicedeskapi/request/{issue.Id}";
        _ = viewer;
        return new JsonObject
        {
            ["_expands"] = new JsonArray("participant", "status", "sla", "requestType", "serviceDesk", "attachment", "action", "comment"),
            ["issueId"] = issue.Id,
            ["issueKey"] = issue.Key,
            ["summary"] = issue.Summary,
            ["requestTypeId"] = issue.RequestTypeId,
            ["serviceDeskId"] = issue.ServiceDeskId,
            ["createdDate"] = ServiceDeskDate(issue.Created),
            ["reporter"] = UserSd(_users[issue.ReporterId]),
            ["requestFieldValues"] = values,
            ["currentStatus"] = new JsonObject
            {
                ["status"] = status.Name,
                ["statusCategory"] = status.CategoryKey.ToUpperInvariant(),
                ["statusDate"] = ServiceDeskDate(issue.StatusDate),
            },
            ["_links"] = new JsonObject
            {
                ["jiraRest"] = $"{Url}/rest/api/2/issue/{issue.Id}",
                ["web"] = $"{Url}/servicedesk/customer/portal/{issue.ServiceDeskId}/{issue.Key}",
                ["agent"] = $"{Url}/browse/{issue.Key}",
                ["self"] = self,
            },
        };
    }

    private JsonObject Approval(JiraApproval approval)
    {
        var final = approval.FinalDecision;
        var json = new JsonObject
        {
            ["id"] = approval.Id,
            ["name"] = approval.Name,
            ["finalDecision"] = final,
            ["canAnswerApproval"] = false,
            ["approvers"] = new JsonArray(approval.Approvers.Select(a => (JsonNode)new JsonObject
            {
                ["approver"] = UserSd(_users[a.Key]),
                ["approverDecision"] = a.Value,
            }).ToArray()),
            ["createdDate"] = ServiceDeskDate(approval.Created),
            ["_links"] = new JsonObject { ["self"] = $"{Url}/rest/servicedeskapi/request/approval/{approval.Id}" },
        };
        if (approval.Completed is { } completed && final != "pending")
        {
            json["completedDate"] = ServiceDeskDate(completed);
        }

        return json;
    }

    private JsonObject Comment(JiraComment comment) => new()
    {
        ["_expands"] = new JsonArray("attachment", "renderedBody"),
        ["id"] = comment.Id,
        ["body"] = comment.Body,
        ["public"] = comment.Public,
        ["author"] = UserSd(_users[comment.AuthorId]),
        ["created"] = ServiceDeskDate(comment.Created),
        ["_links"] = new JsonObject { ["self"] = $"{Url}/rest/servicedeskapi/request/comment/{comment.Id}" },
    };

    /// <summary>A JSM page: <c>{size, start, limit, isLastPage, values, _links}</c>.</summary>
    private JsonObject Page(IReadOnlyList<JsonObject> items, Dictionary<string, StringValues> query)
    {
        var start = Math.Max(0, Int(query, "start") ?? 0);
        var limit = Math.Clamp(Int(query, "limit") ?? 50, 1, 100);
        var page = items.Skip(start).Take(limit).ToList();
        return new JsonObject
        {
            ["_expands"] = new JsonArray(),
            ["size"] = page.Count,
            ["start"] = start,
            ["limit"] = limit,
            ["isLastPage"] = start + page.Count >= items.Count,
            ["values"] = new JsonArray(page.Select(p => (JsonNode)p).ToArray()),
            ["_links"] = new JsonObject { ["base"] = Url, ["context"] = "" },
        };
    }

    private JsonObject IssueJson(JiraIssue issue, IReadOnlyList<string> requested, IReadOnlyList<string> expand, string version)
    {
        var all = requested.Count == 0 || requested.Any(r => r is "*all" or "*navigable");
        bool Wants(string id) => all || requested.Contains(id, StringComparer.OrdinalIgnoreCase);

        var fields = new JsonObject();
        var desk = _desks[issue.ServiceDeskId];
        var type = _requestTypes[issue.RequestTypeId];
        if (Wants("summary"))
        {
            fields["summary"] = issue.Summary;
        }

        if (Wants("status"))
        {
            fields["status"] = StatusV3(StatusNamed(issue.Status));
        }

        if (Wants("reporter"))
        {
            fields["reporter"] = UserV3(_users[issue.ReporterId]);
        }

        if (Wants("creator"))
        {
            fields["creator"] = UserV3(_users[issue.CreatorId]);
        }

        if (Wants("created"))
        {
            fields["created"] = JiraTime(issue.Created);
        }

        if (Wants("updated"))
        {
            fields["updated"] = JiraTime(issue.Updated);
        }

        if (Wants("project"))
        {
            fields["project"] = new JsonObject
            {
                ["self"] = $"{Url}/rest/api/{version}/project/{desk.ProjectId}", ["id"] = desk.ProjectId, ["key"] = desk.ProjectKey,
                ["name"] = desk.ProjectName, ["projectTypeKey"] = "service_desk",
            };
        }

        if (Wants("issuetype"))
        {
            fields["issuetype"] = new JsonObject { ["id"] = type.IssueTypeId, ["name"] = "Service Request", ["subtask"] = false };
        }

        if (Wants(Options.RequestTypeFieldId))
        {
            fields[Options.RequestTypeFieldId] = RequestTypeField(issue);
        }

        foreach (var definition in _fields.Values)
        {
            if (definition.Id != "summary" && Wants(definition.Id))
            {
                fields[definition.Id] = issue.Fields.TryGetValue(definition.Id, out var stored) ? FieldJson(definition, stored, version) : null;
            }
        }

        var json = new JsonObject
        {
            ["expand"] = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            ["id"] = issue.Id,
            ["self"] = $"{Url}/rest/api/{version}/issue/{issue.Id}",
            ["key"] = issue.Key,
            ["fields"] = fields,
        };

        if (expand.Contains("changelog", StringComparer.OrdinalIgnoreCase))
        {
            // Like Jira Cloud: only the most recent 100 histories come with the issue, newest first; the total tells there are more.
            var recent = issue.Histories.Skip(Math.Max(0, issue.Histories.Count - 100)).Reverse().ToList();
            json["changelog"] = new JsonObject
            {
                ["startAt"] = 0,
                ["maxResults"] = recent.Count,
                ["total"] = issue.Histories.Count,
                ["histories"] = new JsonArray(recent.Select(h => (JsonNode)History(h)).ToArray()),
            };
        }

        if (expand.Contains("transitions", StringComparer.OrdinalIgnoreCase))
        {
            json["transitions"] = new JsonArray(Available(issue).Select(t => (JsonNode)TransitionJson(t)).ToArray());
        }

        return json;
    }

    /// <summary>
    /// The enhanced search (<c>GET /rest/api/3/search/jql</c>): the JQL of <see cref="JiraJql"/> over the issues the
    /// caller may see, only the requested fields (none: the id and key alone), pages of <c>maxResults</c> (50 unless
    /// asked, at most <see cref="JiraSandboxOptions.SearchMaxResults"/>) chained by an opaque <c>nextPageToken</c>
    /// that the last page leaves out (absent, not null, as Jira does) and <c>isLast</c>.
    /// </summary>
    private ResponseMessage Search(JiraUser user, Dictionary<string, StringValues> query, string version)
    {
        if (!JiraJql.TryParse(Value(query, "jql"), Now(), _desks.Values.Select(d => d.ProjectKey).ToList(), out var jql, out var error))
        {
            return PlatformError(400, error);
        }

        var maxResults = 50;
        if (Value(query, "maxResults") is { } asked && !int.TryParse(asked, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxResults))
        {
            return PlatformError(400, $"The value '{asked}' is invalid for the parameter maxResults.");
        }

        maxResults = Math.Clamp(maxResults, 1, Math.Max(1, Options.SearchMaxResults));
        var offset = 0;
        if (Value(query, "nextPageToken") is { } token && !TryReadPageToken(token, out offset))
        {
            return PlatformError(400, "The nextPageToken is invalid or has expired.");
        }

        var found = _issues.Values
            .Where(i => CanSee(user, i) && jql.Matches(new JiraJql.Candidate(i.Updated, StatusNamed(i.Status).CategoryKey, _desks[i.ServiceDeskId].ProjectKey)));
        var ordered = (jql.UpdatedDescending switch
        {
            false => found.OrderBy(i => i.Updated).ThenBy(IssueNumber),
            true => found.OrderByDescending(i => i.Updated).ThenByDescending(IssueNumber),
            null => found.OrderByDescending(i => i.Created).ThenByDescending(IssueNumber),
        }).ToList();
        var page = ordered.Skip(offset).Take(maxResults).ToList();
        var requested = Values(query, "fields");
        var expand = Values(query, "expand");
        var json = new JsonObject
        {
            ["issues"] = new JsonArray(page.Select(i => (JsonNode)IssueJson(i, requested.Count == 0 ? ["id"] : requested, expand, version)).ToArray()),
        };
        var isLast = offset + page.Count >= ordered.Count;
        if (!isLast)
        {
            json["nextPageToken"] = PageToken(offset + page.Count);
        }

        json["isLast"] = isLast;
        return Json(200, json);
    }

    private static long IssueNumber(JiraIssue issue) => long.Parse(issue.Id, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>An opaque token for the page starting at <paramref name="offset"/>, as Jira hands out (its own are longer).</summary>
    private static string PageToken(int offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + offset.ToString(CultureInfo.InvariantCulture)));

    private static bool TryReadPageToken(string token, out int offset)
    {
        offset = 0;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return text.StartsWith("offset:", StringComparison.Ordinal)
                   && int.TryParse(text.AsSpan("offset:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private JsonObject ChangelogPage(JiraIssue issue, Dictionary<string, StringValues> query)
    {
        var startAt = Math.Max(0, Int(query, "startAt") ?? 0);
        var maxResults = Math.Clamp(Int(query, "maxResults") ?? 100, 1, 100);
        var page = issue.Histories.Skip(startAt).Take(maxResults).ToList();
        var isLast = startAt + page.Count >= issue.Histories.Count;
        var json = new JsonObject
        {
            ["self"] = $"{Url}/rest/api/3/issue/{issue.Key}/changelog?maxResults={maxResults.ToString(CultureInfo.InvariantCulture)}&startAt={startAt.ToString(CultureInfo.InvariantCulture)}",
            ["maxResults"] = maxResults,
            ["startAt"] = startAt,
            ["total"] = issue.Histories.Count,
            ["isLast"] = isLast,
            ["values"] = new JsonArray(page.Select(h => (JsonNode)History(h)).ToArray()),
        };
        if (!isLast)
        {
            json["nextPage"] = $"{Url}/rest/api/3/issue/{issue.Key}/changelog?maxResults={maxResults.ToString(CultureInfo.InvariantCulture)}&startAt={(startAt + maxResults).ToString(CultureInfo.InvariantCulture)}";
        }

        return json;
    }

    private JsonObject History(JiraHistory history) => new()
    {
        ["id"] = history.Id,
        ["author"] = UserV3(_users[history.AuthorId]),
        ["created"] = JiraTime(history.Created),
        ["items"] = new JsonArray(history.Items.Select(i => (JsonNode)new JsonObject
        {
            ["field"] = i.Field,
            ["fieldtype"] = i.FieldType,
            ["fieldId"] = i.FieldId,
            ["from"] = i.From,
            ["fromString"] = i.FromString,
            ["to"] = i.To,
            ["toString"] = i.ToText,
        }).ToArray()),
    };

    private JsonObject TransitionJson(JiraWorkflowTransition transition) => new()
    {
        ["id"] = transition.Id,
        ["name"] = transition.Name,
        ["to"] = StatusV3(StatusNamed(transition.To)),
        ["hasScreen"] = false,
        ["isGlobal"] = transition.From.Count == 0,
        ["isInitial"] = false,
        ["isAvailable"] = true,
        ["isConditional"] = false,
        ["isLooped"] = false,
    };

    private JsonObject StatusV3(JiraStatus status)
    {
        var (categoryId, colour, categoryName) = status.CategoryKey switch
        {
            "new" => (2, "blue-gray", "To Do"),
            "done" => (3, "green", "Done"),
            _ => (4, "yellow", "In Progress"),
        };
        return new JsonObject
        {
            ["self"] = $"{Url}/rest/api/3/status/{status.Id}",
            ["description"] = "",
            ["iconUrl"] = $"{Url}/images/icons/statuses/generic.png",
            ["name"] = status.Name,
            ["id"] = status.Id,
            ["statusCategory"] = new JsonObject
            {
                ["self"] = $"{Url}/rest/api/3/statuscategory/{categoryId.ToString(CultureInfo.InvariantCulture)}",
                ["id"] = categoryId,
                ["key"] = status.CategoryKey,
                ["colorName"] = colour,
                ["name"] = categoryName,
            },
        };
    }

    /// <summary>The Customer Request Type field (customfield_10010) as the platform API and webhooks show it.</summary>
    private JsonObject RequestTypeField(JiraIssue issue)
    {
        var type = _requestTypes[issue.RequestTypeId];
        var status = StatusNamed(issue.Status);
        return new JsonObject
        {
            ["_links"] = new JsonObject
            {
                ["jiraRest"] = $"{Url}/rest/api/2/issue/{issue.Id}",
                ["web"] = $"{Url}/servicedesk/customer/portal/{issue.ServiceDeskId}/{issue.Key}",
                ["agent"] = $"{Url}/browse/{issue.Key}",
                ["self"] = $"{Url}/rest/servicedeskapi/request/{issue.Id}",
            },
            ["requestType"] = new JsonObject
            {
                ["_expands"] = new JsonArray("field"),
                ["id"] = type.Id,
                ["_links"] = new JsonObject { ["self"] = $"{Url}/rest/servicedeskapi/servicedesk/{type.ServiceDeskId}/requesttype/{type.Id}" },
                ["name"] = type.Name,
                ["description"] = "",
                ["helpText"] = "",
                ["issueTypeId"] = type.IssueTypeId,
                ["serviceDeskId"] = type.ServiceDeskId,
                ["portalId"] = type.ServiceDeskId,
                ["groupIds"] = new JsonArray(),
            },
            ["currentStatus"] = new JsonObject
            {
                ["status"] = status.Name,
                ["statusCategory"] = status.CategoryKey.ToUpperInvariant(),
                ["statusDate"] = ServiceDeskDate(issue.StatusDate),
            },
        };
    }

    /// <summary>
    /// A field value per API: <paramref name="version"/> "3" renders rich text as ADF; "2", "sd" (JSM) and webhooks as
    /// wiki text. Users come out with or without e-mail as their privacy setting says.
    /// </summary>
    private JsonNode? FieldJson(JiraFieldDefinition definition, JsonNode? stored, string version)
    {
        if (stored is null)
        {
            return null;
        }

        JsonObject Option(string value) => new()
        {
            ["self"] = $"{Url}/rest/api/3/customFieldOption/{OptionId(definition.Id, value)}",
            ["value"] = value,
            ["id"] = OptionId(definition.Id, value),
        };

        JsonNode User(string accountId) => version == "sd" ? UserSd(_users[accountId]) : UserV3(_users[accountId]);

        switch (definition.Kind)
        {
            case JiraFieldKind.Paragraph when version == "3":
                return new JsonObject
                {
                    ["type"] = "doc",
                    ["version"] = 1,
                    ["content"] = new JsonArray(stored.GetValue<string>().Split('\n').Select(line => (JsonNode)new JsonObject
                    {
                        ["type"] = "paragraph",
                        ["content"] = line.Length == 0 ? new JsonArray() : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = line }),
                    }).ToArray()),
                };
            case JiraFieldKind.Select:
                return Option(stored.GetValue<string>());
            case JiraFieldKind.MultiSelect:
                return new JsonArray(stored.AsArray().Select(v => (JsonNode)Option(v!.GetValue<string>())).ToArray());
            case JiraFieldKind.User:
                return User(stored.GetValue<string>());
            case JiraFieldKind.MultiUser:
                return new JsonArray(stored.AsArray().Select(v => User(v!.GetValue<string>())).ToArray());
            case JiraFieldKind.DateTime:
                return JiraTime(DateTimeOffset.ParseExact(stored.GetValue<string>(), "O", CultureInfo.InvariantCulture));
            default:
                return stored.DeepClone();
        }
    }

    private JsonObject UserV3(JiraUser user)
    {
        var json = new JsonObject
        {
            ["self"] = $"{Url}/rest/api/3/user?accountId={user.AccountId}",
            ["accountId"] = user.AccountId,
        };
        if (user.EmailVisible && user.Email is not null)
        {
            json["emailAddress"] = user.Email;
        }

        json["avatarUrls"] = Avatars(user);
        json["displayName"] = user.DisplayName;
        json["active"] = user.Active;
        json["timeZone"] = user.TimeZone;
        json["accountType"] = user.AccountType;
        return json;
    }

    private JsonObject UserSd(JiraUser user)
    {
        var json = new JsonObject { ["accountId"] = user.AccountId };
        if (user.EmailVisible && user.Email is not null)
        {
            json["emailAddress"] = user.Email;
        }

        json["displayName"] = user.DisplayName;
        json["active"] = user.Active;
        json["timeZone"] = user.TimeZone;
        json["_links"] = new JsonObject
        {
            ["jiraRest"] = $"{Url}/rest/api/2/user?accountId={user.AccountId}",
            ["avatarUrls"] = Avatars(user),
            ["self"] = $"{Url}/rest/api/2/user?accountId={user.AccountId}",
        };
        return json;
    }

    private static JsonObject Avatars(JiraUser user)
    {
        var url = $"https://avatar-management--avatars.example.invalid/{user.AccountId}";
        return new JsonObject { ["48x48"] = url + "/48", ["24x24"] = url + "/24", ["16x16"] = url + "/16", ["32x32"] = url + "/32" };
    }

    /// <summary>A JSM date object: <c>{iso8601, jira, friendly, epochMillis}</c>.</summary>
    private JsonObject ServiceDeskDate(DateTimeOffset at)
    {
        var local = at.ToOffset(Options.DisplayOffset);
        return new JsonObject
        {
            ["iso8601"] = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + CompactOffset(local.Offset),
            ["jira"] = JiraTime(at),
            ["friendly"] = local.ToString("dd/MMM/yy h:mm tt", CultureInfo.InvariantCulture),
            ["epochMillis"] = at.ToUnixTimeMilliseconds(),
        };
    }

    /// <summary>A date-time as the REST APIs write it: 2026-12-31T10:00:00.000+0000, in the display offset.</summary>
    private string JiraTime(DateTimeOffset at)
    {
        var local = at.ToOffset(Options.DisplayOffset);
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture) + CompactOffset(local.Offset);
    }

    private static string CompactOffset(TimeSpan offset) =>
        (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture);

    private static string OptionId(string fieldId, string value) =>
        (10000 + (int)(Fnv(fieldId + "=" + value) % 90000)).ToString(CultureInfo.InvariantCulture);

    private static uint Fnv(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private static IReadOnlyList<string> Values(Dictionary<string, StringValues> query, string name) =>
        query.TryGetValue(name, out var values)
            ? values.SelectMany(v => (v ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : [];

    private static string? Value(Dictionary<string, StringValues> query, string name) =>
        query.TryGetValue(name, out var values) ? values.ToString() : null;

    private static int? Int(Dictionary<string, StringValues> query, string name) =>
        int.TryParse(Value(query, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    [GeneratedRegex(@"^/rest/servicedeskapi/request/(?<key>[^/]+)(?<sub>|/approval|/comment)(/(?<approval>\d+))?/?$", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceDeskRoute();

    [GeneratedRegex(@"^/rest/api/(?<v>[23])/search/jql/?$", RegexOptions.CultureInvariant)]
    private static partial Regex SearchRoute();

    [GeneratedRegex(@"^/rest/api/(?<v>[23])/(?:(?<myself>myself)|issue/(?<key>[^/]+)(?<sub>|/transitions|/changelog))/?$", RegexOptions.CultureInvariant)]
    private static partial Regex PlatformRoute();
}
