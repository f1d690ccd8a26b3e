using System.Text.RegularExpressions;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>
/// The README and the pages under docs/: every relative link resolves to a file of the repository (and a heading of it
/// when it has an anchor), and no page points outside the repository. (Their code is compiled and run against the
/// packed packages by eng/consumer.sh, step packages-consumer of eng/test.sh.)
/// </summary>
public sealed partial class DocumentationTests
{
    private static readonly string RepositoryRoot = FindRepositoryRoot();

    public static IEnumerable<string> Pages()
        => new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(RepositoryRoot, "docs"), "*.md").Select(p => Path.GetRelativePath(RepositoryRoot, p)).Order(StringComparer.Ordinal));

    [Test]
    public void The_documentation_has_the_pages_the_README_promises()
    {
        var pages = Pages().ToList();
        Assert.That(pages, Is.SupersetOf(new[]
        {
            "docs/getting-started.md", "docs/adoption.md", "docs/concepts.md", "docs/aggregates.md", "docs/snapshots.md",
            "docs/projections.md", "docs/outbox.md", "docs/changing-events.md", "docs/testing.md", "docs/operations.md",
            "docs/performance.md", "docs/guarantees.md", "docs/troubleshooting.md", "docs/design-notes.md",
        }.Select(p => p.Replace('/', Path.DirectorySeparatorChar))));
    }

    [TestCaseSource(nameof(Pages))]
    public void Every_relative_link_resolves_inside_the_repository(string page)
    {
        var path = Path.Combine(RepositoryRoot, page);
        var text = File.ReadAllText(path);
        var problems = new List<string>();
        var links = 0;
        foreach (Match link in MarkdownLink().Matches(StripCode(text)))
        {
            var target = link.Groups["target"].Value;
            if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            links++;
            var (file, anchor) = target.Split('#', 2) is [var f, var a] ? (f, a) : (target, null);
            var resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!resolved.StartsWith(RepositoryRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                problems.Add($"{target}: outside the repository");
            }
            else if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                problems.Add($"{target}: no such file");
            }
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(resolved)).Contains(anchor))
            {
                problems.Add($"{target}: no heading '#{anchor}' in {Path.GetFileName(resolved)}");
            }
        }

        Assert.That(problems, Is.Empty, $"{page}: broken links");
        TestContext.Out.WriteLine($"{page}: {links} relative links, all resolve");
    }

    [TestCaseSource(nameof(Pages))]
    public void No_page_mentions_files_outside_the_repository(string page)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot, page));
        Assert.That(text, Does.Not.Contain("DESIGN.md").And.Not.Contain("../shared").And.Not.Contain("EF-FACTS").And.Not.Contain("STYLE.md"));
    }

    [Test]
    public void Anchors_follow_the_GitHub_rules()
    {
        var anchors = Anchors("# Design notes\n## Choices and why\n## Storage (PostgreSQL)\n```\n# not a heading\n```\n## Choices and why\n");
        Assert.That(anchors, Is.EquivalentTo(new[] { "design-notes", "choices-and-why", "storage-postgresql", "choices-and-why-1" }));
    }

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(StripCode(markdown)))
        {
            var slug = AnchorPunctuation().Replace(heading.Groups["text"].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }

        return anchors;
    }

    /// <summary>Blanks fenced code blocks and inline code, where brackets are code, not links.</summary>
    private static string StripCode(string markdown) => InlineCode().Replace(FencedCode().Replace(markdown, ""), "");

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EventSourcing.EFCore.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("EventSourcing.EFCore.sln not found above " + TestContext.CurrentContext.TestDirectory);
    }

    [GeneratedRegex(@"(?<!!)\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\s\-_]")]
    private static partial Regex AnchorPunctuation();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();
}
