import { Testing } from 'cdktf';
// Types of the matchers below, for tsc (the import disappears at run time).
import type {} from 'cdktf/lib/testing/adapters/jest';

// Adds cdktf's jest matchers (toHaveResource, toHaveResourceWithProperties, toBeValidTerraform, ...).
Testing.setupJest();

// The record of RETAIN volumes (retained-volumes.json) is a file of the project the app runs in:
// tests that check it name a file of their own; all others keep none, so that parallel tests
// never see each other's volumes.
process.env.CDKTF_CONTEXT_JSON = JSON.stringify({ 'cdktf-openstack-gpu:retainedVolumesFile': false });
