using System.Text.Json.Nodes;
using IamFulfillment.Sandbox.Demo;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>Edits to the demo policy, written as a variant file for one host.</summary>
public sealed class PolicyEditor(JsonObject root)
{
    public bool Changed { get; private set; }

    /// <summary>Adds a catalog entry; <paramref name="dryRun"/> makes it a shadow-mode entitlement.</summary>
    public PolicyEditor AddEntitlement(string id, string displayName, string groupId, string tier = "standard", bool dryRun = false, string? owner = null)
    {
        var entry = new JsonObject { ["id"] = id, ["displayName"] = displayName, ["groupId"] = groupId, ["tier"] = tier };
        if (dryRun)
        {
            entry["dryRun"] = true;
        }

        if (owner is not null)
        {
            entry["owner"] = owner;
        }

        root["catalog"]!.AsArray().Add(entry);
        Changed = true;
        return this;
    }

    /// <summary>Sets one value of a top-level section, e.g. <c>Set("safetyBrake", "maxDisables", 2)</c>.</summary>
    public PolicyEditor Set(string section, string key, JsonNode? value)
    {
        root[section]![key] = value;
        Changed = true;
        return this;
    }
}

public static class Policies
{
    /// <summary>Writes the edited demo policy to a file of its own and returns its path (null: the demo policy unchanged).</summary>
    public static string? Write(Action<PolicyEditor> edit)
    {
        PolicyEditor? editor = null;
        var path = SandboxWorld.WritePolicyVariant(text =>
        {
            var root = JsonNode.Parse(text)!.AsObject();
            editor = new PolicyEditor(root);
            edit(editor);
            return root.ToJsonString();
        });
        if (editor is { Changed: true })
        {
            return path;
        }

        File.Delete(path);
        return null;
    }

    public static void Delete(string? path)
    {
        if (path is not null)
        {
            File.Delete(path);
        }
    }
}
