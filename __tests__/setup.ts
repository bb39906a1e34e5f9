import { Testing } from 'cdktf';
// Types of the matchers below, for tsc (the import disappears at run time).
import type {} from 'cdktf/lib/testing/adapters/jest';

// Adds cdktf's jest matchers (toHaveResource, toHaveResourceWithProperties, toBeValidTerraform, ...).
Testing.setupJest();
