using System.CommandLine;
using IamFulfillment.Core.Policy;

namespace IamFulfillment.Cli;

/// <summary><c>iamf validate policy.json</c>: prints every error of a policy file with its location; exit code 1 if any.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var path = new Argument<FileInfo>("policy") { Description = "The policy file (JSON) to validate." };
        var command = new Command("validate", "Validate a policy file: every error with its location.") { path };
        command.SetAction((ParseResult result) =>
        {
            var file = result.GetValue(path)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"{file.FullName}: file not found");
                return 2;
            }

            var (policy, errors) = PolicyLoader.Validate(File.ReadAllBytes(file.FullName));
            foreach (var error in errors)
            {
                Console.WriteLine($"{file.Name}:{error.Line?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}: {error.Path}: {error.Message}");
            }

            if (errors.Count > 0 || policy is null)
            {
                Console.WriteLine($"{errors.Count} error(s).");
                return 1;
            }

            Console.WriteLine($"{file.Name}: valid. Version {policy.Version}; {policy.Catalog.Count} entitlement(s), {policy.Roles.Count} role(s), {policy.SeparationOfDuties.Count} separation-of-duties rule(s).");
            return 0;
        });
        return command;
    }
}
