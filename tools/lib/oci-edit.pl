#!/usr/bin/perl
# Small edits of an OCI image layout that umoci 0.4 cannot make, used by
# tools/make-sample-images and tools/month (perl and JSON::PP come with
# build-essential):
#
#   oci-edit.pl append-tar-layer DIR TAG TARFILE CREATED COMMENT
#       Appends TARFILE as an *uncompressed* layer
#       (application/vnd.oci.image.layer.v1.tar) to the image tagged TAG.
#   oci-edit.pl make-index DIR TAG CHILD_TAG...
#       Writes an image index over the CHILD_TAG images (platform taken from
#       their configs), tags it TAG, and drops the CHILD_TAG tags.
#   oci-edit.pl cosign-sign DIR TAG
#       Adds a cosign-shaped signature of the manifest tagged TAG (a
#       simplesigning payload layer; its signature annotation is a
#       placeholder, not a real signature), tagged sha256-<hex>.sig as cosign
#       tags it. Used by tools/month to show signatures travelling.
#
# Every blob is written under blobs/sha256/<hex of its bytes>; index.json is
# replaced atomically.
use strict;
use warnings;
use Digest::SHA;
use JSON::PP;

my $json = JSON::PP->new->canonical;
my $kRefName = 'org.opencontainers.image.ref.name';
my $kManifestType = 'application/vnd.oci.image.manifest.v1+json';
my $kIndexType = 'application/vnd.oci.image.index.v1+json';
my $kConfigType = 'application/vnd.oci.image.config.v1+json';
my $kTarType = 'application/vnd.oci.image.layer.v1.tar';

sub slurp {
  my ($path) = @_;
  open(my $f, '<:raw', $path) or die "oci-edit: $path: $!\n";
  local $/;
  my $bytes = <$f>;
  close($f);
  return $bytes;
}

sub spit {
  my ($path, $bytes) = @_;
  open(my $f, '>:raw', "$path.tmp") or die "oci-edit: $path.tmp: $!\n";
  print $f $bytes or die "oci-edit: $path.tmp: $!\n";
  close($f) or die "oci-edit: $path.tmp: $!\n";
  rename("$path.tmp", $path) or die "oci-edit: $path: $!\n";
}

sub blob_path { my ($dir, $digest) = @_; $digest =~ s/^sha256://; return "$dir/blobs/sha256/$digest"; }

# Stores bytes as a blob; returns a descriptor.
sub put_blob {
  my ($dir, $media_type, $bytes) = @_;
  my $digest = 'sha256:' . Digest::SHA::sha256_hex($bytes);
  spit(blob_path($dir, $digest), $bytes);
  return { mediaType => $media_type, digest => $digest, size => length($bytes) };
}

sub read_index { my ($dir) = @_; return $json->decode(slurp("$dir/index.json")); }
sub write_index { my ($dir, $index) = @_; spit("$dir/index.json", $json->encode($index)); }

sub find_tag {
  my ($index, $tag) = @_;
  for my $i (0 .. $#{ $index->{manifests} }) {
    my $d = $index->{manifests}[$i];
    return $i if ((($d->{annotations} // {})->{$kRefName} // "") eq $tag);
  }
  die "oci-edit: no tag $tag in index.json\n";
}

sub append_tar_layer {
  my ($dir, $tag, $tar_file, $created, $comment) = @_;
  my $index = read_index($dir);
  my $at = find_tag($index, $tag);
  my $manifest = $json->decode(slurp(blob_path($dir, $index->{manifests}[$at]{digest})));
  my $config = $json->decode(slurp(blob_path($dir, $manifest->{config}{digest})));

  my $tar = slurp($tar_file);
  my $layer = put_blob($dir, $kTarType, $tar);
  # For an uncompressed layer the diff id is the layer digest itself.
  push @{ $config->{rootfs}{diff_ids} }, $layer->{digest};
  push @{ $config->{history} }, { created => $created, created_by => $comment };
  $manifest->{config} = put_blob($dir, $kConfigType, $json->encode($config));
  push @{ $manifest->{layers} }, $layer;

  my $descriptor = put_blob($dir, $kManifestType, $json->encode($manifest));
  $descriptor->{annotations} = { $kRefName => $tag };
  $index->{manifests}[$at] = $descriptor;
  write_index($dir, $index);
}

sub make_index {
  my ($dir, $tag, @children) = @_;
  my $index = read_index($dir);
  my @entries;
  for my $child (@children) {
    my $at = find_tag($index, $child);
    my $d = $index->{manifests}[$at];
    my $manifest = $json->decode(slurp(blob_path($dir, $d->{digest})));
    my $config = $json->decode(slurp(blob_path($dir, $manifest->{config}{digest})));
    push @entries, {
      mediaType => $d->{mediaType},
      digest => $d->{digest},
      size => $d->{size},
      platform => { os => $config->{os}, architecture => $config->{architecture} },
    };
    splice(@{ $index->{manifests} }, $at, 1);
  }
  my $image_index = { schemaVersion => 2, mediaType => $kIndexType, manifests => \@entries };
  my $descriptor = put_blob($dir, $kIndexType, $json->encode($image_index));
  $descriptor->{annotations} = { $kRefName => $tag };
  push @{ $index->{manifests} }, $descriptor;
  write_index($dir, $index);
  print "$descriptor->{digest}\n";
}

sub cosign_sign {
  my ($dir, $tag) = @_;
  my $index = read_index($dir);
  my $subject = $index->{manifests}[find_tag($index, $tag)]{digest};
  my $payload = $json->encode({
    critical => {
      identity => { 'docker-reference' => "sample/$tag" },
      image => { 'docker-manifest-digest' => $subject },
      type => 'cosign container image signature',
    },
    optional => undef,
  });
  my $layer = put_blob($dir, 'application/vnd.dev.cosign.simplesigning.v1+json', $payload);
  $layer->{annotations} = { 'dev.cosignproject.cosign/signature' => 'MEUCIQDplaceholder' };
  my $config = put_blob($dir, $kConfigType, $json->encode({
    architecture => '', os => '', config => {}, rootfs => { type => 'layers', diff_ids => [$layer->{digest}] },
  }));
  my $manifest = { schemaVersion => 2, mediaType => $kManifestType, config => $config, layers => [$layer] };
  my $descriptor = put_blob($dir, $kManifestType, $json->encode($manifest));
  (my $hex = $subject) =~ s/^sha256://;
  $descriptor->{annotations} = { $kRefName => "sha256-$hex.sig" };
  push @{ $index->{manifests} }, $descriptor;
  write_index($dir, $index);
  print "sha256-$hex.sig\n";
}

my $command = shift @ARGV // '';
if ($command eq 'append-tar-layer' && @ARGV == 5) {
  append_tar_layer(@ARGV);
} elsif ($command eq 'make-index' && @ARGV >= 3) {
  make_index(@ARGV);
} elsif ($command eq 'cosign-sign' && @ARGV == 2) {
  cosign_sign(@ARGV);
} else {
  die "usage: oci-edit.pl append-tar-layer DIR TAG TARFILE CREATED COMMENT\n" .
      "       oci-edit.pl make-index DIR TAG CHILD_TAG...\n" .
      "       oci-edit.pl cosign-sign DIR TAG\n";
}
