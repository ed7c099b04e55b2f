#include <boost/program_options.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byte_size.h"
#include "cli/cli_util.h"
#include "cli/delta_report.h"
#include "cli/json_output.h"
#include "cli/plan_command.h"
#include "cli/registry_options.h"
#include "exporter.h"
#include "io/atomic_file.h"
#include "mirror_config.h"
#include "reference/ref_name.h"
#include "reference/reference.h"
#include "reference/transport_ref.h"
#include "source/archive_source.h"
#include "source/artifact_source.h"
#include "source/oci_layout_source.h"
#include "source/registry_source.h"
#include "source_list.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

Result<std::unique_ptr<ImageSource>> OpenSource(io::FileSystem* fs, const SourceRef& source,
                                                RegistryOptions& registry_options,
                                                bool all_repositories) {
  const std::string& text = source.text;
  SLUICE_ASSIGN_OR_RETURN(TransportRef ref, ParseTransportRef(text));
  // A config sets these for docker:// repositories only (mirror_config.h).
  if (ref.transport != Transport::kDocker && (source.tag_pattern || !source.auth_file.empty())) {
    return Status::InvalidArgument("'" + text + "': a tag pattern and an auth file apply to "
                                   "docker:// sources only");
  }
  switch (ref.transport) {
    case Transport::kOciLayout:
      return NewOciLayoutSource(fs, ref.path, ref.name);
    case Transport::kDocker: {
      SLUICE_ASSIGN_OR_RETURN(Reference reference, ParseReference(ref.name));
      // A whole registry is a lot to ship by accident: it must be asked for.
      if (reference.repository.empty() != all_repositories) {
        return Status::InvalidArgument(
            "'" + text + "': " +
            (all_repositories ? "--all takes a registry only (docker://HOST[:PORT])"
                              : "names no repository; add --all to export every repository of " +
                                    reference.host));
      }
      SLUICE_ASSIGN_OR_RETURN(registry::ClientOptions client,
                              registry_options.ForHost(reference.host, source.auth_file));
      return NewRegistrySource(reference, std::move(client), source.tag_pattern);
    }
    case Transport::kOciArchive:
      return NewOciArchiveSource(fs, ref.path, ref.name);
    case Transport::kDockerArchive:
      return NewDockerArchiveSource(fs, ref.path, ref.name);
    case Transport::kHelmChart:
      return NewHelmChartSource(fs, ref.path);
    case Transport::kFile:
      return NewFileSource(fs, ref.path, ref.name);
    case Transport::kRegistryStorage:
      return Status::InvalidArgument("'" + text +
                                     "': registry-storage: is an import destination only");
  }
  return Status::Unsupported("'" + text + "': unsupported transport");
}

// --base sent|delivered and --resend-last K (plan.h). kExitUsage, after
// saying why in one line, for anything else.
std::optional<int> ParsePlanOptions(const std::string& base, int64_t resend_last,
                                    PlanOptions* options) {
  if (base == "sent") {
    options->base = PlanBase::kSent;
  } else if (base == "delivered") {
    options->base = PlanBase::kDelivered;
  } else {
    std::cerr << "sluice export: --base takes 'sent' or 'delivered', not '" << Printable(base)
              << "'\n";
    return kExitUsage;
  }
  if (resend_last < 0) {
    std::cerr << "sluice export: --resend-last takes a number of bundles, 0 or more, not "
              << resend_last << "\n";
    return kExitUsage;
  }
  options->resend_last = static_cast<uint64_t>(resend_last);
  return std::nullopt;
}

// --rate-limit RATE: bytes per second, more than none. kExitUsage, after
// saying why in one line, for anything else.
std::optional<int> ParseRateLimit(const std::string& text, uint64_t* bytes_per_second) {
  Result<uint64_t> rate = ParseByteSize(text);
  if (rate.ok() && *rate > 0) {
    *bytes_per_second = *rate;
    return std::nullopt;
  }
  std::cerr << "sluice export: --rate-limit: "
            << (rate.ok() ? "a rate of 0 bytes per second would never finish; give more, e.g. 10M"
                          : Printable(rate.status().message()))
            << "\n";
  return kExitUsage;
}

// What --keep-going left out, for the report: the ref as given, where it
// was given, the image of it that failed (when the ref named several, or
// none could be listed: ""), and why.
struct LeftOut {
  const SourceRef* ref;
  const SkippedImage* skipped;
};

std::vector<LeftOut> LeftOutRefs(const ExportReport& r, const std::vector<SourceRef>& refs) {
  std::vector<LeftOut> out;
  for (const SkippedImage& s : r.skipped) out.push_back({&refs.at(s.source), &s});
  return out;
}

void PrintReport(const ExportReport& r, const std::vector<SourceRef>& refs,
                 const std::string& output, bool json) {
  std::vector<LeftOut> left_out = LeftOutRefs(r, refs);
  if (json) {
    nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
    for (const LeftOut& l : left_out) {
      skipped.push_back({{"ref", l.ref->text},
                         {"origin", l.ref->origin},
                         {"image", l.skipped->image},
                         {"error", ErrorKindName(l.skipped->reason.kind())},
                         {"reason", l.skipped->reason.message()}});
    }
    nlohmann::ordered_json images = nlohmann::ordered_json::array();
    for (const Ledger::BundleImage& image : r.refs) {
      images.push_back(RefJson(image.ref, image.repository, image.tag, image.digest.str()));
    }
    // Something left out (--keep-going, exit 5) is not a success.
    nlohmann::ordered_json doc = JsonDocument("export");
    doc["ok"] = left_out.empty();
    doc.update(nlohmann::ordered_json{{"bundle", output},
                                  {"bundle_id", r.bundle_id},
                                  {"base_sequence", r.base_sequence},
                                  {"sequence", r.sequence},
                                  {"refs", std::move(images)},
                                  {"manifests", r.manifests},
                                  {"absent_manifests", r.absent_manifests},
                                  {"attached_refs", r.attached_refs},
                                  {"shipped_blobs", r.shipped_blobs},
                                  {"shipped_bytes", r.shipped_bytes},
                                  {"skipped_blobs", r.skipped_blobs},
                                  {"skipped_bytes", r.skipped_bytes},
                                  {"resent_blobs", r.resent_blobs},
                                  {"resent_bytes", r.resent_bytes},
                                  {"bundle_bytes", r.bundle_bytes},
                                  {"files", r.files},
                                  {"parity_files", r.parity_files},
                                  {"deltas", DeltasJson(r.deltas)},
                                  {"skipped", skipped}});
    PrintJson(doc);
    return;
  }
  std::ostream& out = output == "-" || r.bundle_on_stdout ? std::cerr : std::cout;
  out << "exported bundle " << r.sequence << " (on ledger sequence " << r.base_sequence
      << ") to " << output << "\n";
  for (const Ledger::BundleImage& ref : r.refs) {
    out << "  " << Printable(JoinRefName(ref.repository, ref.tag)) << "@" << ref.digest.str()
        << "\n";
  }
  out << "  " << r.manifests << " manifests, " << r.shipped_blobs << " blobs shipped ("
      << HumanBytes(r.shipped_bytes) << "), " << r.skipped_blobs
      << " skipped as held by the far side (" << HumanBytes(r.skipped_bytes) << ")\n";
  if (r.absent_manifests > 0) {
    out << "  " << r.absent_manifests
        << " index children of other platforms left out (--platform, a config's platforms:), "
           "listed as absent\n";
  }
  if (r.attached_refs > 0) {
    out << "  " << r.attached_refs
        << " of the refs are signatures, attestations or referrers found with the images "
           "(--no-signatures, --no-referrers leave them out)\n";
  }
  if (r.resent_blobs > 0) {
    out << "  " << r.resent_blobs << " of the shipped blobs (" << HumanBytes(r.resent_bytes)
        << ") were sent before: shipped again (--base delivered, --resend-last)\n";
  }
  PrintDeltas(out, r.deltas);
  out << "  bundle size " << HumanBytes(r.bundle_bytes) << "\n";
  if (r.files.size() > 1) {
    out << "  in " << r.files.size() << " volumes:\n";
    for (const std::string& f : r.files) out << "    " << Printable(f) << "\n";
  }
  if (!r.parity_files.empty()) {
    out << "  " << r.parity_files.size() << " parity files (sluice repair rebuilds from them):\n";
    for (const std::string& f : r.parity_files) out << "    " << Printable(f) << "\n";
  }
  if (!left_out.empty()) {
    out << "  " << left_out.size() << " left out as failed (--keep-going, exit code "
        << kExitPartial << "); none of it is in the bundle or the ledger:\n";
    for (const LeftOut& l : left_out) {
      out << "    " << Printable(DescribeSourceRef(*l.ref));
      if (!l.skipped->image.empty() && l.skipped->image != l.ref->text) {
        out << ": " << Printable(l.skipped->image);
      }
      out << ": " << Printable(l.skipped->reason.ToString()) << "\n";
    }
  }
}

}  // namespace

int RunExport(const Args& args) { return RunExportCommand(args, ExportCommand::kExport); }

int RunExportCommand(const Args& args, ExportCommand command) {
  // `sluice plan` is this command line, planned and not written (plan_command.cc).
  const bool plan_command = command == ExportCommand::kPlan;
  bool dry_run = false;
  std::vector<std::string> refs;
  std::vector<std::string> list_paths;
  std::vector<std::string> config_paths;
  bool keep_going = false;
  bool no_delta = false;
  std::string delta_scratch;
  ExportOptions opts;
  bool json = false;
  bool quiet = false;
  bool all_repositories = false;
  std::string rate_limit;
  std::string volume_size;
  int parity = 0;
  std::vector<std::string> platforms;
  bool no_signatures = false;
  bool no_referrers = false;
  std::string base = "sent";
  int64_t resend_last = 0;  // signed, so that -1 is refused rather than wrapped
  RegistryOptions registry_options("src");
  auto sign_key = po::value(&opts.sign_key_path);
  auto output = po::value(&opts.output_path);
  if (!plan_command) {
    sign_key->required();
    output->required();
  }
  po::options_description options(plan_command ? kPlanOptionsCaption : "export options");
  options.add_options()
      ("source", po::value(&refs)->multitoken(), "images to export (also positional): oci:DIR[:TAG], docker://HOST/REPO[:TAG|@DIGEST], "
       "docker://HOST/REPO (all tags), oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG|:@N]; "
       "and files as OCI artifacts: helm:CHART.tgz (a packaged Helm chart, as helm push "
       "stores it: charts/NAME:VERSION), file:FILE[:TAG] (any file: files/NAME:TAG, "
       "default tag latest)")
      ("list", po::value(&list_paths)->composing(),
       "file with one source reference per line ('#' comments); repeatable, and an error "
       "names FILE:LINE")
      ("config", po::value(&config_paths)->composing()->value_name("FILE"),
       "YAML file declaring what to export: images with tag lists, tag patterns, digests, "
       "platforms of their own, whole repositories (allTags: true), charts and files, and an "
       "authfile for their registries (README: Config files); repeatable, combines with SRC "
       "and --list, and an error names FILE:LINE:COLUMN and the key")
      ("keep-going", po::bool_switch(&keep_going),
       "leave out, and report, each image that fails before the bundle is written (cannot be "
       "resolved, missing tag, unreachable registry, bad manifest) and write the bundle for the "
       "rest, exiting with 5 (partly done); when every image fails, no bundle and the failure's "
       "own exit code. A blob failing while the bundle is written still fails the whole export")
      ("all", po::bool_switch(&all_repositories),
       "with docker://HOST: every tag of every repository of the registry")
      ("ledger", po::value(&opts.ledger_path)->required(),
       "ledger of what the far side holds; created if missing, updated after success")
      ("sign-key", sign_key,
       "Ed25519 private key (PEM, unencrypted, mode 600)")
      ("output,o", output, "bundle file to write, or - for stdout")
      ("platform", po::value(&platforms)->value_name("OS/ARCH[/VARIANT]"),
       "repeatable: of every image index, ship only the children for these platforms "
       "(e.g. linux/amd64, linux/arm64/v8; no variant matches any variant) and those that "
       "declare none; the index itself ships byte for byte and the bundle lists the others "
       "as absent. Attestations (unknown/unknown) ship only if asked for")
      ("no-signatures", po::bool_switch(&no_signatures),
       "do not look for the cosign-style tags sha256-<hex>.sig, .att and .sbom of each "
       "manifest exported (by default they travel as refs of their own, with theirs)")
      ("no-referrers", po::bool_switch(&no_referrers),
       "do not look for the OCI 1.1 referrers of each manifest exported (the referrers API, "
       "else the fallback tag sha256-<hex>; in an OCI layout, the manifests of index.json "
       "whose subject names it)")
      ("base", po::value(&base)->value_name("sent|delivered")->default_value(base),
       "what counts as held by the far side: every blob the ledger records as sent, or "
       "only those a receipt confirmed ('sluice ledger confirm'), so that everything not "
       "confirmed ships again")
      ("resend-last", po::value(&resend_last)->value_name("K")->default_value(resend_last),
       "ship again the blobs first shipped by the last K bundles of the ledger, whatever "
       "--base says: a rolling window, so that each blob travels in K + 1 bundles, for links "
       "that carry no receipts back")
      ("no-delta", po::bool_switch(&no_delta),
       "ship every layer whole; by default a layer whose previous version (the same image "
       "name in an earlier bundle of the ledger, the layer at the same position) the far side "
       "holds ships as a delta of the two tars plus the recipe that rebuilds its exact gzip "
       "bytes, when one is found (zlib and pigz layers; others ship whole, and the report "
       "says why)")
      ("delta-scratch", po::value(&delta_scratch)->value_name("DIR"),
       "where to decode layers while deltas are made (default $TMPDIR, else /tmp); needs "
       "room for the largest layer's tar twice over")
      ("rate-limit", po::value(&rate_limit)->value_name("RATE"),
       "write the bundle at most RATE bytes per second, on average (e.g. 500K, 10M, 1.5G: "
       "powers of 1024)")
      ("volume-size", po::value(&volume_size)->value_name("SIZE"),
       "cut the bundle into volumes of at most SIZE bytes (700M, 4.7G, 25G: powers of 1024; "
       "or plain bytes): -o NAME.sluice writes NAME.001.sluice, NAME.002.sluice, ...")
      ("parity", po::value(&parity)->value_name("N"),
       "also write N Reed-Solomon parity files (NAME.par1.sluice, ...): any N volumes, or a "
       "damaged range of a single file, can then be rebuilt with sluice repair; to a stream "
       "(-o -, a FIFO), send the bundle in packets with N parity packets in every 16, which "
       "import - and verify - use to rebuild lost or damaged packets")
      ("frame-size", po::value(&opts.writer.frame_size)->default_value(1u << 20),
       "raw bytes per frame")
      // 2, not zstd's 3: on 1 MiB frames of tar layers it measured 1.6 % larger
      // and 40-60 % faster, which keeps an export at zstd -T0 -3's speed while
      // it also hashes and writes.
      ("level", po::value(&opts.writer.zstd_level)->default_value(2),
       "zstd compression level (1-19; higher is smaller and slower)")
      ("json", po::bool_switch(&json), "print the report as JSON on stdout")
      ("quiet,q", po::bool_switch(&quiet), "no progress on stderr");
  int parallel_blobs = kDefaultBlobsInFlight;
  AddParallelBlobsOption(options, &parallel_blobs,
                         "blobs read from the sources at once (a compressed archive is read one "
                         "at a time)");
  bool allow_insecure_key = false;
  AddInsecureKeyOption(options, &allow_insecure_key);
  registry_options.AddTo(options);
  if (!plan_command) {
    options.add_options()("dry-run", po::bool_switch(&dry_run),
                          "write nothing: print what the bundle would hold, as 'sluice plan'");
  }
  po::positional_options_description positional;
  positional.add("source", -1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine(plan_command ? "plan" : "export",
                                   plan_command ? kPlanUsage
                                                : "SRC... [--list FILE] [--config FILE] --ledger "
                                                  "LEDGER --sign-key KEY -o BUNDLE [--dry-run]",
                                   args, options, positional, &vm)) {
    return *exit;
  }
  const bool planning = plan_command || dry_run;
  if (Status s = registry_options.Check(/*stdin_is_input=*/false); !s.ok()) {
    return ReportError(s);
  }
  io::FileSystem* fs = io::DefaultFileSystem();
  std::vector<SourceRef> sources_given;
  for (const std::string& text : refs) {
    SourceRef ref;
    ref.text = text;
    sources_given.push_back(std::move(ref));
  }
  for (const std::string& path : list_paths) {
    if (Status s = ReadListFile(fs, path, &sources_given); !s.ok()) {
      return ReportError(s.WithContext("--list " + path));
    }
  }
  for (const std::string& path : config_paths) {
    if (Status s = ReadMirrorConfig(fs, path, &sources_given); !s.ok()) {
      return ReportError(s.WithContext("--config"));
    }
  }
  if (sources_given.empty()) {
    std::cerr << "sluice export: no source given (SRC..., --list FILE or --config FILE)\n";
    return kExitUsage;
  }
  if (auto exit = CheckParallelBlobs("export", parallel_blobs)) return *exit;
  if (auto exit = ParsePlanOptions(base, resend_last, &opts.plan)) return *exit;
  for (const std::string& text : platforms) {
    auto platform = oci::ParsePlatform(text);
    if (!platform.ok()) return ReportError(platform.status().WithContext("--platform"));
    opts.plan.platforms.push_back(std::move(platform).value());
  }
  opts.plan.keep_going = keep_going;
  if (!no_delta) {
    opts.delta.emplace();
    opts.delta->scratch_parent = delta_scratch;
  }
  opts.plan.attached.signatures = !no_signatures;
  opts.plan.attached.referrers = !no_referrers;
  opts.blobs_in_flight = static_cast<size_t>(parallel_blobs);
  if (vm.count("rate-limit")) {
    if (auto exit = ParseRateLimit(rate_limit, &opts.bytes_per_second)) return *exit;
  }
  if (vm.count("volume-size")) {
    Result<uint64_t> size = ParseByteSize(volume_size);
    if (!size.ok() || *size == 0) {
      std::cerr << "sluice export: --volume-size: "
                << (size.ok() ? "a volume of 0 bytes holds nothing; give a size, e.g. 4.7G"
                              : Printable(size.status().message()))
                << "\n";
      return kExitUsage;
    }
    opts.volume_size = *size;
  }
  if (parity < 0 || parity > 64) {
    std::cerr << "sluice export: --parity must be between 0 and 64, not " << parity << "\n";
    return kExitUsage;
  }
  opts.parity_count = static_cast<uint32_t>(parity);
  if (!planning && opts.output_path == "-" && json) {
    std::cerr << "sluice export: --json and -o - both want stdout\n";
    return kExitUsage;
  }
  // Before any source is opened: a key others can read is refused at once.
  if (Status s = planning ? Status::Ok()
                          : CheckSigningKeyFile(opts.sign_key_path, allow_insecure_key);
      !s.ok()) {
    return ReportError(s);
  }

  // A ref that cannot even be opened is malformed (its transport, its
  // syntax): a mistake in the list, refused even with --keep-going.
  std::vector<std::unique_ptr<ImageSource>> sources;
  std::vector<ExportSource> export_sources;
  for (const SourceRef& ref : sources_given) {
    auto source = OpenSource(fs, ref, registry_options, all_repositories);
    if (!source.ok()) {
      return ReportError(ref.origin.empty() ? source.status()
                                            : source.status().WithContext(ref.origin));
    }
    export_sources.emplace_back(source->get(), ref.platforms);
    sources.push_back(std::move(source).value());
  }
  if (planning) return PlanAndReport(fs, export_sources, sources_given, opts, json);
  ProgressDisplay progress(quiet);
  opts.progress = progress.counter();
  auto report = Export(fs, export_sources, opts);
  progress.Finish();
  if (!report.ok()) return ReportError(report.status());
  PrintReport(*report, sources_given, opts.output_path, json);
  return report->skipped.empty() ? kExitOk : kExitPartial;
}

}  // namespace sluice::cli
