// What images.push() resolves with (a file of its own: public declarations reach nothing internal).

/** What a push did. */
export interface PushResult {
  /** The reference pushed (normalised). */
  reference: string;
  /** The manifest digest the registry now serves for it. */
  digest: string;
  /** Blobs uploaded; blobs the registry already had in the repository; blobs it mounted from another of its repositories. */
  uploaded: number;
  skipped: number;
  mounted: number;
}
