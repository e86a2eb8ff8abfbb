using System.Collections.Concurrent;
using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Graph.Models;
using Microsoft.Graph.Users.Item.SendMail;

namespace IamFulfillment.Connectors.Graph;

/// <summary>The directory changes. Each is safe to repeat: a resumed or redelivered step ends in the same state.</summary>
public sealed partial class GraphDirectory
{
    private const string PasswordMethod = "passwordAuthenticationMethod";
    private const string TemporaryAccessPassMethod = "temporaryAccessPassAuthenticationMethod";

    /// <summary>A methods list read during a pass serves the removal step only this soon after; later it reads again.</summary>
    private static readonly TimeSpan MethodsListValidity = TimeSpan.FromMinutes(1);

    /// <summary>Per user: the registered methods, read while a pass was being issued, for the removal step after it.</summary>
    private readonly ConcurrentDictionary<string, MethodsList> _methodsReadDuringPass = new(StringComparer.Ordinal);

    public async Task<ChangeResult> ApplyAsync(DirectoryOperation operation, CancellationToken cancellationToken)
    {
        var result = operation switch
        {
            AddMember add => await AddMemberAsync(add, cancellationToken),
            RemoveMember remove => await RemoveMemberAsync(remove, cancellationToken),
            DisableAccount disable => await DisableAsync(disable, cancellationToken),
            RevokeSessions revoke => await RevokeSessionsAsync(revoke, cancellationToken),
            IssueTemporaryAccessPass tap => await IssueReadingMethodsAsync(tap, cancellationToken),
            RemoveAuthenticationMethods methods => await RemoveAuthenticationMethodsAsync(methods, cancellationToken),
            _ => new ChangeResult(ChangeStatus.Failed, null, $"The Graph directory cannot apply {operation.GetType().Name}."),
        };
        LogApplied(operation.StepId, result.Status, result.RequestId);
        return result;
    }

    private Task<ChangeResult> AddMemberAsync(AddMember add, CancellationToken cancellationToken)
    {
        if (!IsObjectId(add.GroupId) || !IsObjectId(add.UserId))
        {
            return Task.FromResult(NotAnObjectId());
        }

        var reference = new ReferenceCreate { OdataId = _directoryObjectsUrl + add.UserId };
        return ChangeAsync("adding the member", call => _client.Groups[add.GroupId].Members.Ref.PostAsync(reference, r => r.Options.Add(call), cancellationToken),
            failure => failure switch
            {
                { Status: 400 } when failure.MessageContains("already exist") => new ChangeResult(ChangeStatus.NoOp, failure.RequestId, "already a member"),
                { Status: 403 } => GraphErrors.NotPermitted(failure, "The service may not change this group's members (a role-assignable or protected group?)."),
                { Status: 400 } when failure.MessageContains("dynamic") || failure.MessageContains("on-premises") =>
                    GraphErrors.NotPermitted(failure, "This group's members are not managed in Entra ID (dynamic or synchronised from on-premises)."),
                { Status: 404 } => GraphErrors.Failed(failure, "The group or user was not found."),
                _ => GraphErrors.Failed(failure, "Adding the member failed."),
            });
    }

    private Task<ChangeResult> RemoveMemberAsync(RemoveMember remove, CancellationToken cancellationToken)
    {
        if (!IsObjectId(remove.GroupId) || !IsObjectId(remove.UserId))
        {
            return Task.FromResult(NotAnObjectId());
        }

        // Members[id].Ref is DELETE /groups/{g}/members/{u}/$ref: without /$ref Graph would delete the user object.
        return ChangeAsync("removing the member", call => _client.Groups[remove.GroupId].Members[remove.UserId].Ref.DeleteAsync(r => r.Options.Add(call), cancellationToken),
            failure => failure switch
            {
                { Status: 404 } => new ChangeResult(ChangeStatus.NoOp, failure.RequestId, "not a member"),
                { Status: 400 or 403 } => GraphErrors.NotPermitted(failure,
                    "The service may not change this group's members (dynamic, synchronised from on-premises, or role-assignable)."),
                _ => GraphErrors.Failed(failure, "Removing the member failed."),
            });
    }

    private Task<ChangeResult> DisableAsync(DisableAccount disable, CancellationToken cancellationToken)
    {
        if (!IsObjectId(disable.UserId))
        {
            return Task.FromResult(NotAnObjectId());
        }

        // Setting accountEnabled=false twice leaves the same state, so the retry layer may repeat it.
        return ChangeAsync("disabling the account", call => _client.Users[disable.UserId].PatchAsync(new User { AccountEnabled = false }, r => r.Options.Add(call), cancellationToken),
            failure => failure switch
            {
                { Status: 400 } when failure.MessageContains("on-premises") => GraphErrors.NotPermitted(failure,
                    "The account is synchronised from on-premises Active Directory; disable it there."),
                { Status: 403 } => GraphErrors.NotPermitted(failure,
                    "Graph refused to disable the account; an account holding an administrator role needs a privileged administrator."),
                { Status: 404 } => GraphErrors.Failed(failure, "The user was not found."),
                _ => GraphErrors.Failed(failure, "Disabling the account failed."),
            });
    }

    private Task<ChangeResult> RevokeSessionsAsync(RevokeSessions revoke, CancellationToken cancellationToken)
    {
        if (!IsObjectId(revoke.UserId))
        {
            return Task.FromResult(NotAnObjectId());
        }

        // Graph answers 200 {"value": true} (the docs once said 204); both are success. Revoking twice is harmless.
        return ChangeAsync("revoking sign-in sessions",
            call => _client.Users[revoke.UserId].RevokeSignInSessions.PostAsRevokeSignInSessionsPostResponseAsync(r => r.Options.Add(call), cancellationToken),
            failure => failure switch
            {
                { Status: 403 } => GraphErrors.NotPermitted(failure, "Graph refused to revoke this user's sessions."),
                { Status: 404 } => GraphErrors.Failed(failure, "The user was not found."),
                _ => GraphErrors.Failed(failure, "Revoking sign-in sessions failed."),
            });
    }

    /// <summary>
    /// Issues the pass and, at the same time, lists the methods registered before it: the removal step that follows
    /// (<see cref="RemoveAuthenticationMethods"/>) deletes those, and reading them now rather than after the pass is
    /// mailed saves that step a sequential round trip. It also keeps a method registered with the new pass off the list.
    /// </summary>
    private async Task<ChangeResult> IssueReadingMethodsAsync(IssueTemporaryAccessPass tap, CancellationToken cancellationToken)
    {
        if (RefuseTemporaryAccessPass(tap) is { } refused)
        {
            return refused; // before any call
        }

        var now = _time.GetTimestamp();
        foreach (var (user, stale) in _methodsReadDuringPass.Where(e => _time.GetElapsedTime(e.Value.ReadAt, now) > MethodsListValidity).ToList())
        {
            _methodsReadDuringPass.TryRemove(new KeyValuePair<string, MethodsList>(user, stale));
        }

        var listing = new MethodsList(GetAuthenticationMethodsAsync(tap.UserId, cancellationToken), now);
        listing.Methods.ObserveFailure();
        _methodsReadDuringPass[tap.UserId] = listing;
        var issued = false;
        try
        {
            var result = await IssueTemporaryAccessPassAsync(tap, cancellationToken);
            issued = result.Status == ChangeStatus.Applied;
            return result;
        }
        finally
        {
            if (!issued)
            {
                // No removal step follows a pass that was not issued.
                _methodsReadDuringPass.TryRemove(new KeyValuePair<string, MethodsList>(tap.UserId, listing));
            }
        }
    }

    /// <summary>The list read during this user's pass, if it is recent; taken, so it serves one removal only.</summary>
    private Task<IReadOnlyList<Core.Model.AuthenticationMethod>>? TakeMethodsReadDuringPass(string userId) =>
        _methodsReadDuringPass.TryRemove(userId, out var listing) && _time.GetElapsedTime(listing.ReadAt) <= MethodsListValidity
            ? listing.Methods
            : null;

    private ChangeResult? RefuseTemporaryAccessPass(IssueTemporaryAccessPass tap)
    {
        if (!IsObjectId(tap.UserId))
        {
            return NotAnObjectId();
        }

        if (string.IsNullOrWhiteSpace(_options.MailSender))
        {
            return new ChangeResult(ChangeStatus.Failed, null,
                "Graph:MailSender is not configured, so a Temporary Access Pass could not be delivered; none was issued.");
        }

        if (!GraphOptionsValidator.LooksLikeAddress(tap.DeliverToAddress))
        {
            return new ChangeResult(ChangeStatus.Failed, null, $"The manager {tap.DeliverToUserId} has no usable mail address; no Temporary Access Pass was issued.");
        }

        if (tap.LifetimeMinutes is < 10 or > 43200)
        {
            return new ChangeResult(ChangeStatus.Failed, null, "A Temporary Access Pass lives 10 to 43200 minutes; none was issued.");
        }

        return null;
    }

    private sealed record MethodsList(Task<IReadOnlyList<Core.Model.AuthenticationMethod>> Methods, long ReadAt);

    private async Task<ChangeResult> IssueTemporaryAccessPassAsync(IssueTemporaryAccessPass tap, CancellationToken cancellationToken)
    {
        // Not idempotent and not batched: a repeated POST would mint a second pass replacing the first.
        var create = Call(batchable: false, idempotent: false);
        TemporaryAccessPassAuthenticationMethod? created;
        try
        {
            created = await _client.Users[tap.UserId].Authentication.TemporaryAccessPassMethods.PostAsync(
                new TemporaryAccessPassAuthenticationMethod { LifetimeInMinutes = tap.LifetimeMinutes, IsUsableOnce = true },
                r => r.Options.Add(create),
                cancellationToken);
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            LogChangeFailed(tap.StepId, failure.Status, failure.Code, failure.RequestId);
            return failure switch
            {
                { IsTransient: true } => throw GraphErrors.ForTransientChange(failure, "issuing a Temporary Access Pass", ex),
                { Status: 403 } => GraphErrors.NotPermitted(failure, "Graph refused to issue a Temporary Access Pass for this user."),
                { Status: 404 } => GraphErrors.Failed(failure, "The user was not found."),
                _ => GraphErrors.Failed(failure, "Issuing a Temporary Access Pass failed (is the Temporary Access Pass policy enabled for this user?)."),
            };
        }

        if (created?.TemporaryAccessPass is not { Length: > 0 } pass)
        {
            await DeletePassAsync(tap.UserId, created?.Id, cancellationToken);
            return new ChangeResult(ChangeStatus.Failed, create.RequestId, "Graph created no usable Temporary Access Pass.");
        }

        var lifetime = created.LifetimeInMinutes ?? tap.LifetimeMinutes;
        var expiresAt = (created.StartDateTime ?? _time.GetUtcNow()).AddMinutes(lifetime);
        var mail = new SendMailPostRequestBody
        {
            Message = new Message
            {
                Subject = TemporaryAccessPassMail.Subject(tap.TargetName),
                Body = new ItemBody { ContentType = BodyType.Text, Content = TemporaryAccessPassMail.Body(tap.TargetName, pass, expiresAt, lifetime) },
                ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = tap.DeliverToAddress } }],
            },
            SaveToSentItems = false,
        };

        try
        {
            await _client.Users[_options.MailSender].SendMail.PostAsync(mail, r => r.Options.Add(Call(batchable: false, idempotent: false)), cancellationToken);
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            // An undelivered pass must not stay usable: delete it, and let the step issue a fresh one next time.
            LogChangeFailed(tap.StepId + ":mail", failure.Status, failure.Code, failure.RequestId);
            await DeletePassAsync(tap.UserId, created.Id, cancellationToken);
            return failure.IsTransient
                ? throw GraphErrors.ForTransientChange(failure, "mailing the Temporary Access Pass", ex)
                : GraphErrors.Failed(failure, "The Temporary Access Pass could not be mailed (check Graph:MailSender and the Mail.Send permission); it was deleted again.");
        }

        LogPassDelivered(tap.UserId, expiresAt, tap.DeliverToUserId);
        return new ChangeResult(ChangeStatus.Applied, create.RequestId,
            $"Temporary Access Pass expiring at {expiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC sent to {tap.DeliverToUserId}");
    }

    private async Task DeletePassAsync(string userId, string? passId, CancellationToken cancellationToken)
    {
        if (passId is null)
        {
            return;
        }

        try
        {
            await _client.Users[userId].Authentication.TemporaryAccessPassMethods[passId].DeleteAsync(r => r.Options.Add(Call(batchable: false)), cancellationToken);
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            // The next pass replaces it anyway, and it expires on its own.
            LogChangeFailed("tap-delete:" + userId, failure.Status, failure.Code, failure.RequestId);
        }
    }

    private async Task<ChangeResult> RemoveAuthenticationMethodsAsync(RemoveAuthenticationMethods remove, CancellationToken cancellationToken)
    {
        if (!IsObjectId(remove.UserId))
        {
            return NotAnObjectId();
        }

        IReadOnlyList<Core.Model.AuthenticationMethod> methods;
        try
        {
            methods = await (TakeMethodsReadDuringPass(remove.UserId) ?? GetAuthenticationMethodsAsync(remove.UserId, cancellationToken));
        }
        catch (ConnectorException ex) when (ex is not TransientConnectorException)
        {
            return new ChangeResult(ex.Status is 403 ? ChangeStatus.NotPermitted : ChangeStatus.Failed, ex.RequestId,
                "The registered authentication methods could not be read: " + ex.Message);
        }

        // Password and the pass just issued stay: they are how the person signs in to register new methods.
        var targets = methods.Where(m => m.Kind is not (PasswordMethod or TemporaryAccessPassMethod)).ToList();
        var outcomes = await Task.WhenAll(targets.Select(m => DeleteMethodAsync(remove.UserId, m, cancellationToken)));

        if (outcomes.FirstOrDefault(o => o.Transient is not null) is { Transient: { } transient })
        {
            throw transient; // the step is repeated later; what is already deleted answers 404 then
        }

        var removed = outcomes.Count(o => o.Deleted);
        var left = outcomes.Where(o => o.Problem is not null).ToList();
        var requestId = outcomes.LastOrDefault(o => o.RequestId is not null).RequestId;
        if (left.Count > 0)
        {
            var status = left.TrueForAll(o => o.NotPermitted) ? ChangeStatus.NotPermitted : ChangeStatus.Failed;
            return new ChangeResult(status, requestId,
                $"Removed {removed} of {targets.Count} authentication methods; could not remove {string.Join("; ", left.Select(o => o.Problem))}.");
        }

        return removed > 0
            ? new ChangeResult(ChangeStatus.Applied, requestId, $"Removed {removed} authentication method{(removed == 1 ? "" : "s")}.")
            : new ChangeResult(ChangeStatus.NoOp, requestId, "No authentication methods besides password and Temporary Access Pass were registered.");
    }

    private readonly record struct MethodOutcome(bool Deleted, string? RequestId, string? Problem = null, bool NotPermitted = false, TransientConnectorException? Transient = null);

    private async Task<MethodOutcome> DeleteMethodAsync(string userId, Core.Model.AuthenticationMethod method, CancellationToken cancellationToken)
    {
        var call = Call(batchable: true);
        var authentication = _client.Users[userId].Authentication;
        Func<Task>? delete = method.Kind switch
        {
            "microsoftAuthenticatorAuthenticationMethod" => () => authentication.MicrosoftAuthenticatorMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "phoneAuthenticationMethod" => () => authentication.PhoneMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "fido2AuthenticationMethod" => () => authentication.Fido2Methods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "softwareOathAuthenticationMethod" => () => authentication.SoftwareOathMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "windowsHelloForBusinessAuthenticationMethod" => () => authentication.WindowsHelloForBusinessMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "emailAuthenticationMethod" => () => authentication.EmailMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "platformCredentialAuthenticationMethod" => () => authentication.PlatformCredentialMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            "externalAuthenticationMethod" => () => authentication.ExternalAuthenticationMethods[method.Id].DeleteAsync(r => r.Options.Add(call), cancellationToken),
            _ => null,
        };
        if (delete is null)
        {
            return new MethodOutcome(false, null, $"{method.Kind} (the service cannot delete this kind)");
        }

        try
        {
            await delete();
            return new MethodOutcome(true, call.RequestId);
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            return failure switch
            {
                { Status: 404 } => new MethodOutcome(false, failure.RequestId), // already gone
                { IsTransient: true } => new MethodOutcome(false, failure.RequestId, Transient: GraphErrors.ForTransientChange(failure, "removing an authentication method", ex)),
                { Status: 403 } => new MethodOutcome(false, failure.RequestId, $"{method.Kind} ({failure.Describe()})", NotPermitted: true),
                _ => new MethodOutcome(false, failure.RequestId, $"{method.Kind} ({failure.Describe()})"),
            };
        }
    }

    /// <summary>
    /// Runs one idempotent change: success is Applied; Graph's refusal is mapped by <paramref name="refused"/>;
    /// transient failures (after the retry layer) throw <see cref="TransientConnectorException"/>.
    /// </summary>
    private async Task<ChangeResult> ChangeAsync(string what, Func<GraphCall, Task> change, Func<GraphFailure, ChangeResult> refused)
    {
        var call = Call(batchable: true);
        try
        {
            await change(call);
            return new ChangeResult(ChangeStatus.Applied, call.RequestId);
        }
        catch (Exception ex) when (GraphErrors.Read(ex, _time.GetUtcNow()) is { } failure)
        {
            if (failure.IsTransient)
            {
                throw GraphErrors.ForTransientChange(failure, what, ex);
            }

            var result = refused(failure);
            if (!result.Succeeded)
            {
                LogChangeFailed(what, failure.Status, failure.Code, failure.RequestId);
            }

            return result;
        }
    }

    private static ChangeResult NotAnObjectId() =>
        new(ChangeStatus.Failed, null, "The operation does not name directory objects by id (GUID); nothing was changed.");

    [LoggerMessage(EventId = 3110, Level = LogLevel.Information, Message = "Graph step {StepId}: {Status} [request {RequestId}]")]
    private partial void LogApplied(string stepId, ChangeStatus status, string? requestId);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Warning, Message = "Graph {What} refused: HTTP {Status} {Code} [request {RequestId}]")]
    private partial void LogChangeFailed(string what, int? status, string? code, string? requestId);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Information, Message = "Temporary Access Pass for {UserId} expiring at {ExpiresAt:u} mailed to manager {ManagerId}")]
    private partial void LogPassDelivered(string userId, DateTimeOffset expiresAt, string managerId);
}
